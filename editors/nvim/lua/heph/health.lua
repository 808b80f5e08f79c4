-- :checkhealth heph: the socket (found by the CLI's rules), the daemon (version, mode, sync
-- protocol), the methods this plugin calls, and events, on a connection of its own.

local client_mod = require('heph.client')
local config = require('heph.config')
local paths = require('heph.paths')

local M = {}

local health = vim.health or require('health')
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local info = health.info or health.report_info

--- Every method the plugin calls.
M.METHODS = {
  'node.get',
  'node.update',
  'node.create',
  'node.resolve',
  'journal.open',
  'wiki.complete',
  'wiki.resolve',
  'wiki.backlinks',
  'search',
  'next',
  'add',
  'task.get',
  'task.done',
  'task.skip',
  'task.update',
  'conflicts.list',
  'conflicts.resolve',
  'sync.status',
  'status',
  'events.subscribe',
  'events.unsubscribe',
}

function M.check()
  start('heph.nvim')
  if vim.fn.has('nvim-0.7') == 1 then
    ok('Neovim ' .. tostring(vim.version().major) .. '.' .. tostring(vim.version().minor))
  else
    error('heph.nvim needs Neovim 0.7 or later')
  end

  start('hephd socket')
  local path, source = paths.socket(config.get().socket)
  if not path then
    error(source)
    return
  end
  local stat = vim.loop.fs_stat(path)
  if not stat then
    error('no socket at ' .. path .. ' (from ' .. source .. ')', {
      'start the daemon: heph daemon start',
      'or point the plugin at it: $HEPH_SOCKET, or require("heph").setup({ socket = "..." })',
    })
    return
  end
  if stat.type ~= 'socket' then
    error(path .. ' (from ' .. source .. ') is not a socket')
    return
  end
  ok('socket ' .. path .. ' (from ' .. source .. ')')

  start('hephd')
  local c = client_mod.new({
    socket = function()
      return path, source
    end,
    timeout_ms = function()
      return config.get().timeout_ms
    end,
  })
  local events = {}
  c.opts.on_notification = function(method, params)
    events[#events + 1] = { method, params }
  end
  local good, status = pcall(c.call, c, 'status', {})
  if not good then
    error(tostring(status))
    c:close()
    return
  end
  ok(string.format('hephd %s, %s mode, sync protocol %s, pid %d', status.version, status.mode, tostring(status.protocol), status.pid))

  local mgood, described = pcall(c.call, c, 'rpc.methods', {})
  if mgood then
    local served = {}
    for _, m in ipairs(described.methods) do
      served[m.name] = true
    end
    local missing = {}
    for _, name in ipairs(M.METHODS) do
      if not served[name] then
        missing[#missing + 1] = name
      end
    end
    if #missing == 0 then
      ok('serves every method the plugin uses (' .. #M.METHODS .. ')')
    else
      error('hephd does not serve ' .. table.concat(missing, ', '), { 'upgrade heph so the daemon and the plugin match' })
    end
  else
    error('rpc.methods: ' .. tostring(described))
  end

  local sgood, sub = pcall(c.call, c, 'events.subscribe', { topics = { 'sync.state' } })
  if sgood then
    local after = c:call('status', {})
    if after.subscribers > status.subscribers then
      ok('events: subscribed (' .. sub.subscription .. '); notes reload when they change elsewhere')
    else
      warn('events.subscribe answered, but the daemon counts no new subscriber')
    end
    pcall(c.call, c, 'events.unsubscribe', { subscription = sub.subscription })
  else
    error('events.subscribe: ' .. tostring(sub), { 'notes will not reload when they change elsewhere' })
  end

  local ygood, sync = pcall(c.call, c, 'sync.status', {})
  if ygood then
    if sync.state == 'in_sync' or sync.state == 'no_hub' or sync.state == 'pending' then
      ok('sync: ' .. sync.verdict)
    else
      warn('sync: ' .. sync.verdict, { 'heph sync status --details says more' })
    end
  end
  c:close()

  local session_client = package.loaded['heph.session'] and require('heph.session').current()
  if session_client and session_client:is_connected() then
    info('this editor is connected to ' .. tostring(session_client.path))
  end
end

return M

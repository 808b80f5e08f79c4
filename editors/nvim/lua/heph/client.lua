-- JSON-RPC 2.0 to hephd over its unix socket, one JSON object per line, with Neovim's own libuv
-- (vim.loop pipes): no external program. Guarantees:
-- - one connection, requests pipelined on it and matched to replies by id;
-- - every request ends exactly once: its reply, its error, or a clear message when hephd is not
--   running, does not answer within the timeout, or the connection drops;
-- - a request is never sent twice once it may have reached hephd, except reads, which are safe
--   to repeat and are sent again once on the next connection; a change whose connection dropped
--   fails with code `unknown_outcome` (it may or may not have been made);
-- - requests made while disconnected connect first; after a lost connection the client
--   reconnects in the background while keep_alive() says someone listens (open notes), with
--   growing pauses, and on_connect runs after each connection (to subscribe again).
-- Callbacks run on Neovim's main loop, never in a libuv callback.

local util = require('heph.util')
local uv = util.uv

local M = {}

--- Methods that only read: sending one again after a lost connection is harmless.
local READS = {
  ['node.get'] = true,
  ['node.resolve'] = true,
  ['node.list'] = true,
  ['task.get'] = true,
  ['search'] = true,
  ['wiki.links'] = true,
  ['wiki.backlinks'] = true,
  ['wiki.resolve'] = true,
  ['wiki.complete'] = true,
  ['next'] = true,
  ['list'] = true,
  ['conflicts.list'] = true,
  ['sync.status'] = true,
  ['status'] = true,
  ['rpc.methods'] = true,
}

--- hephd refuses frames over 8 MiB; a larger request is refused here with a clear message.
local MAX_FRAME = 8 * 1024 * 1024
local MAX_BACKOFF_MS = 1000

local Client = {}
Client.__index = Client

--- opts: socket (function returning path, source | nil, message), timeout_ms, on_notification
--- (method, params), on_connect (client, reconnected), on_disconnect (client), keep_alive ().
function M.new(opts)
  local self = setmetatable({}, Client)
  self.opts = opts
  self.state = 'closed'
  self.queue = {}
  self.pending = {}
  self.next_id = 1
  self.partial = {}
  self.backoff = 100
  self.connections = 0
  self.trace = opts.trace
  return self
end

local function connect_error(path, err)
  local start = 'start it with `heph daemon start`'
  local name = tostring(err):match('^(%u+)') or tostring(err)
  if name == 'ENOENT' then
    return util.new_error('unavailable', 'hephd is not running (no socket at ' .. path .. '); ' .. start, { path = path })
  elseif name == 'ECONNREFUSED' then
    return util.new_error(
      'unavailable',
      'hephd is not running (nothing is listening on ' .. path .. '); ' .. start,
      { path = path }
    )
  elseif name == 'EACCES' then
    return util.new_error('forbidden', 'permission denied connecting to ' .. path, { path = path })
  end
  return util.new_error('unavailable', 'cannot connect to hephd at ' .. path .. ': ' .. tostring(err), { path = path })
end

function Client:is_connected()
  return self.state == 'open'
end

function Client:timeout_ms()
  return self.opts.timeout_ms and self.opts.timeout_ms() or 5000
end

local function close_handle(h)
  if h and not h:is_closing() then
    h:close()
  end
end

--- Sends a request; cb(err, result) runs once on the main loop. Returns the request id.
function Client:request(method, params, cb, opts)
  opts = opts or {}
  local id = self.next_id
  self.next_id = id + 1
  if params == nil or next(params) == nil then
    params = vim.empty_dict()
  end
  local ok, line = pcall(vim.json.encode, { jsonrpc = '2.0', id = id, method = method, params = params })
  local req = { id = id, method = method, cb = cb, sent = false, retries = 0 }
  if not ok then
    self:_finish_later(req, util.new_error('invalid_params', method .. ': params are not JSON'))
    return id
  end
  if #line >= MAX_FRAME then
    self:_finish_later(
      req,
      util.new_error('too_large', method .. ': the request is larger than hephd takes (8 MiB)')
    )
    return id
  end
  req.line = line .. '\n'
  req.timeout = opts.timeout_ms or self:timeout_ms()
  self.pending[id] = req
  req.timer = uv.new_timer()
  req.timer:start(req.timeout, 0, function()
    vim.schedule(function()
      self:_timed_out(id)
    end)
  end)
  if self.state == 'open' then
    self:_write(req)
  else
    table.insert(self.queue, req)
    self:_connect()
  end
  return id
end

--- Calls a method and waits for its answer (the editor stays responsive to other events).
--- Returns the result; raises the error (a util error with code and message).
function Client:call(method, params, opts)
  local done, err, res = false, nil, nil
  local id = self:request(method, params, function(e, r)
    done, err, res = true, e, r
  end, opts)
  local timeout = (opts and opts.timeout_ms) or self:timeout_ms()
  local _, why = vim.wait(timeout + 1000, function()
    return done
  end, 5)
  if not done then
    local req = self.pending[id]
    if req then
      self:_finish(req, nil, nil, true)
    end
    if why == -2 then
      error(util.new_error('interrupted', method .. ' interrupted' .. (READS[method] and '' or '; it may still be applied')), 0)
    end
    error(util.new_error('timeout', method .. ': no answer from hephd'), 0)
  end
  if err then
    error(err, 0)
  end
  return res
end

--- Sends every {method, params} at once and waits for all: a list of {err, result}.
function Client:call_all(calls, opts)
  local out, left = {}, #calls
  for i, c in ipairs(calls) do
    self:request(c[1], c[2], function(e, r)
      out[i] = { e, r }
      left = left - 1
    end, opts)
  end
  local timeout = (opts and opts.timeout_ms) or self:timeout_ms()
  vim.wait(timeout + 1000, function()
    return left == 0
  end, 5)
  for i = 1, #calls do
    out[i] = out[i] or { util.new_error('interrupted', calls[i][1] .. ' interrupted') }
  end
  return out
end

function Client:_finish_later(req, err)
  vim.schedule(function()
    req.cb(err, nil)
  end)
end

--- Ends a request once. `silent`: the caller gave up on it; no callback.
function Client:_finish(req, err, result, silent)
  if req.done then
    return
  end
  req.done = true
  self.pending[req.id] = nil
  close_handle(req.timer)
  if silent then
    return
  end
  if self.trace then
    pcall(self.trace, req.method, err, result)
  end
  local ok, cb_err = xpcall(req.cb, debug.traceback, err, result)
  if not ok then
    util.error('internal error after ' .. req.method .. ': ' .. tostring(cb_err))
  end
end

function Client:_timed_out(id)
  local req = self.pending[id]
  if not req then
    return
  end
  for i, q in ipairs(self.queue) do
    if q == req then
      table.remove(self.queue, i)
      break
    end
  end
  local secs = string.format('%g s', req.timeout / 1000)
  local msg
  if req.sent then
    msg = req.method .. ': hephd did not answer within ' .. secs
    if not READS[req.method] then
      msg = msg .. ' (the change may still be made)'
    end
    msg = msg .. '; is it busy or stuck? `heph status` checks it'
  else
    msg = req.method .. ': could not reach hephd at ' .. tostring(self.path) .. ' within ' .. secs
  end
  self:_finish(req, util.new_error('timeout', msg, { method = req.method }))
end

function Client:_connect()
  if self.state ~= 'closed' or self.closed then
    return
  end
  local path, source_or_err = self.opts.socket()
  if not path then
    self:_fail_queue(util.new_error('invalid_params', source_or_err))
    return
  end
  self.path = path
  self.state = 'connecting'
  local pipe = uv.new_pipe(false)
  self.pipe = pipe
  local ok, err = pcall(pipe.connect, pipe, path, function(cerr)
    vim.schedule(function()
      self:_connected(pipe, cerr)
    end)
  end)
  if not ok then
    vim.schedule(function()
      self:_connected(pipe, err)
    end)
  end
end

function Client:_connected(pipe, err)
  if self.pipe ~= pipe then
    close_handle(pipe)
    return
  end
  if err then
    self.pipe = nil
    self.state = 'closed'
    close_handle(pipe)
    self.last_error = connect_error(self.path, err)
    self:_fail_queue(self.last_error)
    self:_reconnect_later()
    return
  end
  self.state = 'open'
  self.last_error = nil
  self.backoff = 100
  self.connections = self.connections + 1
  self.partial = {}
  pipe:read_start(function(rerr, chunk)
    self:_on_read(pipe, rerr, chunk)
  end)
  if self.opts.on_connect then
    local ok, cb_err = xpcall(self.opts.on_connect, debug.traceback, self, self.connections > 1)
    if not ok then
      util.error('internal error on connect: ' .. tostring(cb_err))
    end
  end
  local queue = self.queue
  self.queue = {}
  for _, req in ipairs(queue) do
    if not req.done then
      self:_write(req)
    end
  end
end

function Client:_fail_queue(err)
  local queue = self.queue
  self.queue = {}
  for _, req in ipairs(queue) do
    self:_finish(req, err)
  end
end

function Client:_write(req)
  local pipe = self.pipe
  req.sent = true
  local ok, handle, err = pcall(pipe.write, pipe, req.line, function(werr)
    if werr then
      vim.schedule(function()
        self:_lost(pipe, werr)
      end)
    end
  end)
  if not ok or handle == nil then
    vim.schedule(function()
      self:_lost(pipe, ok and err or handle)
    end)
  end
end

-- Runs in libuv's callback: only splits lines; decoding happens on the main loop.
function Client:_on_read(pipe, err, chunk)
  if err or not chunk then
    vim.schedule(function()
      self:_lost(pipe, err or 'closed by hephd')
    end)
    return
  end
  local lines = {}
  local pos = 1
  while true do
    local nl = chunk:find('\n', pos, true)
    if not nl then
      break
    end
    self.partial[#self.partial + 1] = chunk:sub(pos, nl - 1)
    lines[#lines + 1] = table.concat(self.partial)
    self.partial = {}
    pos = nl + 1
  end
  if pos <= #chunk then
    self.partial[#self.partial + 1] = chunk:sub(pos)
  end
  if #lines > 0 then
    vim.schedule(function()
      for _, line in ipairs(lines) do
        self:_on_line(line)
      end
    end)
  end
end

function Client:_on_line(line)
  local ok, msg = pcall(vim.json.decode, line)
  if not ok or type(msg) ~= 'table' then
    return
  end
  local id = util.val(msg.id)
  if id ~= nil then
    local req = self.pending[id]
    if not req then
      return -- answered after its timeout, or a caller that gave up
    end
    local e = util.val(msg.error)
    if e then
      local data = util.val(e.data)
      local code = type(data) == 'table' and util.val(data.code) or ('rpc_' .. tostring(e.code))
      self:_finish(req, util.new_error(code, tostring(e.message), data))
    else
      self:_finish(req, nil, msg.result)
    end
  elseif msg.method and self.opts.on_notification then
    local nok, nerr = xpcall(self.opts.on_notification, debug.traceback, msg.method, util.val(msg.params))
    if not nok then
      util.error('internal error handling ' .. tostring(msg.method) .. ': ' .. tostring(nerr))
    end
  end
end

function Client:_lost(pipe, why)
  if self.pipe ~= pipe then
    return
  end
  self.pipe = nil
  self.state = 'closed'
  pcall(pipe.read_stop, pipe)
  close_handle(pipe)
  local again = {}
  for _, req in pairs(self.pending) do
    if req.sent and not req.done then
      if READS[req.method] and req.retries < 1 then
        req.retries = req.retries + 1
        req.sent = false
        again[#again + 1] = req
      else
        self:_finish(
          req,
          util.new_error(
            'unknown_outcome',
            req.method
              .. ': the connection to hephd was lost before it answered ('
              .. tostring(why)
              .. '); the change may or may not have been made',
            { method = req.method }
          )
        )
      end
    end
  end
  table.sort(again, function(a, b)
    return a.id < b.id
  end)
  for _, req in ipairs(again) do
    table.insert(self.queue, req)
  end
  if self.opts.on_disconnect then
    pcall(self.opts.on_disconnect, self)
  end
  if #self.queue > 0 then
    self:_connect()
  else
    self:_reconnect_later()
  end
end

--- Reconnects in the background while someone listens for events.
function Client:_reconnect_later()
  if self.closed or self.reconnect_timer or not (self.opts.keep_alive and self.opts.keep_alive()) then
    return
  end
  local delay = self.backoff
  self.backoff = math.min(self.backoff * 2, MAX_BACKOFF_MS)
  local t = uv.new_timer()
  self.reconnect_timer = t
  t:start(delay, 0, function()
    vim.schedule(function()
      close_handle(t)
      if self.reconnect_timer == t then
        self.reconnect_timer = nil
      end
      if self.state == 'closed' then
        self:_connect()
      end
    end)
  end)
end

--- Connects now if not connected (the result arrives through on_connect).
function Client:ensure_connected()
  if self.state == 'closed' then
    self:_connect()
  end
end

--- Closes the connection; waiting requests fail. The client is not used again.
function Client:close()
  self.closed = true
  close_handle(self.reconnect_timer)
  self.reconnect_timer = nil
  local pipe = self.pipe
  self.pipe = nil
  self.state = 'closed'
  if pipe then
    pcall(pipe.read_stop, pipe)
    close_handle(pipe)
  end
  local err = util.new_error('unavailable', 'the connection to hephd was closed')
  self:_fail_queue(err)
  for _, req in pairs(self.pending) do
    self:_finish(req, err)
  end
end

M.READS = READS

return M

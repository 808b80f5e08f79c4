-- require('heph').status() for a statusline: never waits for hephd. It returns what is known
-- (kept current by sync.state and change events) and asks hephd again in the background when
-- that is older than a few seconds.

local session = require('heph.session')
local util = require('heph.util')

local M = {}

local REFRESH_MS = 5000

local known = { info = nil, error = nil, at = nil, asking = false, used = false }

local SHORT = {
  no_hub = 'local',
  online_only = 'online',
  offline = 'offline',
  sign_in = 'sign in needed',
  protocol = 'upgrade needed',
  failing = 'sync failing',
  clock_drift = 'clock ahead',
  not_synced = 'not synced yet',
  refused = 'changes refused',
  pending = 'syncing',
  in_sync = 'in sync',
}

local function now_ms()
  return util.uv.now()
end

local function ask()
  if known.asking then
    return
  end
  known.asking = true
  session.request('sync.status', {}, function(err, info)
    known.asking = false
    known.at = now_ms()
    if err then
      known.error = err
      known.info = nil
    else
      known.error = nil
      known.info = info
    end
  end)
end

--- The last sync.status (with `connected`), asking again in the background when it is old.
function M.info()
  known.used = true
  if known.at == nil or now_ms() - known.at > REFRESH_MS then
    ask()
  end
  if known.error then
    return { connected = false, error = known.error.message }
  end
  if not known.info then
    return { connected = false }
  end
  return vim.tbl_extend('force', { connected = true }, known.info)
end

--- A short line: "heph: in sync", "heph: offline · 3 pending · 1 conflict", "heph: not running".
function M.line()
  local i = M.info()
  if not i.connected then
    return i.error and 'heph: not running' or 'heph: …'
  end
  local parts = { SHORT[i.state] or i.state }
  local pending = i.pending and i.pending.changes or 0
  if pending > 0 then
    parts[#parts + 1] = pending .. ' pending'
  end
  if (i.conflicts or 0) > 0 then
    parts[#parts + 1] = i.conflicts .. (i.conflicts == 1 and ' conflict' or ' conflicts')
  end
  return 'heph: ' .. table.concat(parts, ' · ')
end

session.on('sync.state', function(params)
  params.subscription = nil
  known.info = params
  known.error = nil
  known.at = now_ms()
end)
-- Local changes change the pending count, a conflict the conflict count: ask again soon.
for _, event in ipairs({ 'node.changed', 'conflict.changed', 'reconnected', 'connected' }) do
  session.on(event, function()
    if known.used then
      known.at = nil
    end
  end)
end
session.on('disconnected', function()
  known.info = nil
  known.error = util.new_error('unavailable', 'hephd is not running')
  known.at = now_ms()
end)
session.want_events(function()
  return known.used
end)

return M

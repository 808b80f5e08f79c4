-- The editor's one connection to hephd, and the events it streams. Modules register handlers
-- for event methods (node.changed, task.changed, conflict.changed, sync.state) and for the
-- connection's own events (connected, reconnected, disconnected); the subscription is made
-- while anything listens for changes and made again after every reconnection.

local client_mod = require('heph.client')
local config = require('heph.config')
local paths = require('heph.paths')
local util = require('heph.util')

local M = {}

local TOPICS = { 'node.changed', 'task.changed', 'conflict.changed', 'sync.state' }

local client
local handlers = {}
-- Functions saying whether something needs live events (open notes, the task list).
local wanters = {}
local subscribed_on -- the connection number the subscription was made on
local outage_noticed = false

function M.on(event, fn)
  handlers[event] = handlers[event] or {}
  table.insert(handlers[event], fn)
end

local function emit(event, ...)
  for _, fn in ipairs(handlers[event] or {}) do
    local ok, err = xpcall(fn, debug.traceback, ...)
    if not ok then
      util.error('internal error in ' .. event .. ' handler: ' .. tostring(err))
    end
  end
end

--- Registers a function that says whether live events are needed now.
function M.want_events(fn)
  table.insert(wanters, fn)
end

function M.wants_events()
  for _, fn in ipairs(wanters) do
    if fn() then
      return true
    end
  end
  return false
end

local function subscribe(c)
  local conn = c.connections
  subscribed_on = conn
  c:request('events.subscribe', { topics = TOPICS }, function(err)
    if err and subscribed_on == conn then
      subscribed_on = nil
      util.warn('live updates are off: ' .. err.message)
    end
  end)
end

function M.client()
  if client then
    return client
  end
  client = client_mod.new({
    socket = function()
      return paths.socket(config.get().socket)
    end,
    timeout_ms = function()
      return config.get().timeout_ms
    end,
    trace = function(...)
      local t = config.get().trace
      if t then
        t(...)
      end
    end,
    keep_alive = M.wants_events,
    on_notification = function(method, params)
      emit(method, params or {})
    end,
    on_connect = function(c, reconnected)
      if M.wants_events() then
        subscribe(c)
      end
      if outage_noticed then
        outage_noticed = false
        util.notify('reconnected to hephd')
      end
      emit(reconnected and 'reconnected' or 'connected')
    end,
    on_disconnect = function()
      subscribed_on = nil
      if M.wants_events() and not outage_noticed then
        outage_noticed = true
        util.warn('lost the connection to hephd; reconnecting when it is back')
      end
      emit('disconnected')
    end,
  })
  return client
end

--- The client if one was made, without making one.
function M.current()
  return client
end

--- Makes sure live events flow (subscribing on the current connection if needed).
function M.listen()
  local c = M.client()
  if c:is_connected() then
    if subscribed_on ~= c.connections then
      subscribe(c)
    end
  else
    c:ensure_connected()
  end
end

function M.call(method, params, opts)
  return M.client():call(method, params, opts)
end

function M.request(method, params, cb, opts)
  return M.client():request(method, params, cb, opts)
end

function M.call_all(calls, opts)
  return M.client():call_all(calls, opts)
end

--- For tests and :Heph reconnect: drops the connection (a new one is made on the next call).
function M.reset()
  if client then
    client:close()
  end
  client = nil
  subscribed_on = nil
  outage_noticed = false
end

M.TOPICS = TOPICS

return M

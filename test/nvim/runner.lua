-- Runs one case of test/nvim/cases.lua inside a real Neovim with heph.nvim loaded, against the
-- hephd the test started, and writes what happened to $HEPH_NVIM_OUT as JSON:
--   {ok, error, messages, notices, calls}
-- `messages` is what :messages holds, `notices` every vim.notify call, `calls` every reply the
-- plugin received (method and result), which the test checks against rpc.methods' schemas.
-- A case may pause at a step the test performs (restart the daemon, edit from another process):
-- t.step(name, data) appends {"step": name, "data": data} to $HEPH_NVIM_CTL/steps and waits
-- for $HEPH_NVIM_CTL/<name>.done, whose JSON it returns.

local case_name = vim.env.HEPH_NVIM_CASE
local out_path = vim.env.HEPH_NVIM_OUT
local ctl = vim.env.HEPH_NVIM_CTL
local args = vim.json.decode(vim.env.HEPH_NVIM_ARGS or '{}')
local here = debug.getinfo(1, 'S').source:sub(2):match('(.*)/')

local calls = {}
local notices = {}
local t = { args = args, builtin_notify = vim.notify }
-- Recorded, and shown as a notification plugin shows them. t.builtin_notify is Neovim's own.
vim.notify = function(msg, level)
  notices[#notices + 1] = { msg = msg, level = level or vim.log.levels.INFO }
  vim.api.nvim_echo({ { msg } }, true, {})
end

require('heph').setup({
  timeout_ms = tonumber(vim.env.HEPH_NVIM_TIMEOUT_MS or '5000'),
  trace = function(method, err, result)
    if not err then
      calls[#calls + 1] = { method = method, result = result }
    end
  end,
})


local function show(v)
  return type(v) == 'string' and string.format('%q', v) or vim.inspect(v)
end

function t.eq(actual, expected, what)
  if not vim.deep_equal(actual, expected) then
    error((what or 'value') .. ': expected ' .. show(expected) .. ', got ' .. show(actual), 2)
  end
end

function t.ok(cond, what)
  if not cond then
    error('expected ' .. what, 2)
  end
end

--- Waits (processing events) until cond() holds; fails naming what it waited for.
function t.wait_for(cond, what, ms)
  if not vim.wait(ms or 10000, cond, 10) then
    error('timed out waiting for ' .. what, 2)
  end
end

function t.lines(buf)
  return vim.api.nvim_buf_get_lines(buf or 0, 0, -1, false)
end

function t.notices()
  return notices
end

--- Types keys as a user would (mappings apply) and runs them to the end.
function t.feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'mx', false)
end

--- A second, independent connection to the same daemon (another editor or the CLI).
function t.other_client()
  local c = require('heph.client').new({
    socket = function()
      return require('heph.paths').socket(nil)
    end,
  })
  return c
end

function t.step(name, data)
  local f = assert(io.open(ctl .. '/steps', 'a'))
  f:write(vim.json.encode({ step = name, data = data or vim.empty_dict() }) .. '\n')
  f:close()
  local done = ctl .. '/' .. name .. '.done'
  t.wait_for(function()
    return vim.loop.fs_stat(done) ~= nil
  end, 'the test to perform ' .. name, 20000)
  local r = assert(io.open(done, 'r'))
  local text = r:read('*a')
  r:close()
  return vim.json.decode(text)
end

local cases = dofile(here .. '/cases.lua')
local result = { ok = false }
local fn = cases[case_name]
if not fn then
  result.error = 'no case ' .. tostring(case_name)
else
  local ok, err = xpcall(fn, debug.traceback, t)
  result.ok = ok
  if not ok then
    result.error = tostring(err)
  end
end
result.messages = vim.fn.execute('messages')
result.notices = notices
result.calls = calls
local f = assert(io.open(out_path, 'w'))
f:write(vim.json.encode(result))
f:close()
vim.cmd('qall!')

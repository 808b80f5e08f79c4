-- Small helpers shared by the plugin's modules: messages, errors, dates, buffers.

local M = {}

local uv = vim.uv or vim.loop

local HIGHLIGHT = { [vim.log.levels.ERROR] = 'ErrorMsg', [vim.log.levels.WARN] = 'WarningMsg' }

-- Neovim's own vim.notify writes errors with nvim_err_writeln, which Neovim turns into an
-- exception (a stack trace) when a Lua function is running a command, as a mapping calling
-- vim.cmd('Heph ...') does. So messages are echoed here unless a notification plugin replaced
-- vim.notify.
local function builtin_notify()
  local info = debug.getinfo(vim.notify, 'S')
  return info ~= nil and info.source:find('vim/_editor.lua', 1, true) ~= nil
end

local function show(msg, level)
  if builtin_notify() then
    local hl = HIGHLIGHT[level]
    vim.api.nvim_echo({ { msg, hl } }, true, {})
  else
    vim.notify(msg, level)
  end
end

--- Shows one message prefixed with "heph: " (safe to call from libuv callbacks).
function M.notify(msg, level)
  level = level or vim.log.levels.INFO
  if vim.in_fast_event() then
    vim.schedule(function()
      show('heph: ' .. msg, level)
    end)
  else
    show('heph: ' .. msg, level)
  end
end

function M.error(msg)
  M.notify(msg, vim.log.levels.ERROR)
end

function M.warn(msg)
  M.notify(msg, vim.log.levels.WARN)
end

--- Errors the plugin raises and reports: {code, message, data}. `code` is the daemon's
--- `error.data.code` (not_found, conflict, ...) or one of the plugin's own (unavailable,
--- timeout, unknown_outcome, interrupted, protocol).
local Error = {}
Error.__index = Error
Error.__tostring = function(e)
  return e.message
end

function M.new_error(code, message, data)
  return setmetatable({ code = code, message = message, data = data }, Error)
end

function M.is_error(e)
  return getmetatable(e) == Error
end

--- The message of anything an error() carried (a plugin error, or a Lua error string).
function M.message(e)
  if M.is_error(e) then
    return e.message
  end
  return tostring(e)
end

local function pack(...)
  return { n = select('#', ...), ... }
end

--- Runs fn(...) and reports a failure as one message instead of a stack trace. Returns fn's
--- results, or nothing when it failed.
function M.guard(fn, ...)
  local res = pack(xpcall(fn, function(e)
    return M.is_error(e) and e or debug.traceback(e, 2)
  end, ...))
  if res[1] then
    return unpack(res, 2, res.n)
  end
  local e = res[2]
  if M.is_error(e) then
    M.error(e.message)
  else
    -- A bug in the plugin: keep the detail, it is what a report needs.
    M.error('internal error: ' .. tostring(e))
  end
end

--- JSON null arrives as vim.NIL; this turns it into nil.
function M.val(v)
  if v == vim.NIL then
    return nil
  end
  return v
end

--- The local calendar day, YYYY-MM-DD (what the daemon's `today` params take).
function M.today(now)
  return os.date('%Y-%m-%d', now or os.time())
end

local function day_time(date)
  local y, m, d = date:match('^(%d%d%d%d)%-(%d%d)%-(%d%d)$')
  if not y then
    return nil
  end
  local t = os.time({ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 })
  -- os.time normalizes 2026-02-31 to March: a date that does not round-trip is not real.
  if os.date('%Y-%m-%d', t) ~= date then
    return nil
  end
  return t
end

--- Reads a date as the CLI does for its common forms: YYYY-MM-DD, today, tomorrow, yesterday,
--- +3d / -2d / +2w, and none (or empty) for no date. Returns date-or-false, or nil and why.
function M.parse_date(text, today)
  text = vim.trim(text or ''):lower()
  today = today or M.today()
  if text == '' or text == 'none' then
    return false
  end
  local base = day_time(today)
  if text == 'today' then
    return today
  elseif text == 'tomorrow' then
    return os.date('%Y-%m-%d', base + 86400)
  elseif text == 'yesterday' then
    return os.date('%Y-%m-%d', base - 86400)
  end
  local sign, n, unit = text:match('^([+-])(%d+)([dw])$')
  if sign then
    local days = tonumber(n) * (unit == 'w' and 7 or 1) * (sign == '-' and -1 or 1)
    local t = os.time({
      year = tonumber(today:sub(1, 4)),
      month = tonumber(today:sub(6, 7)),
      day = tonumber(today:sub(9, 10)) + days,
      hour = 12,
    })
    return os.date('%Y-%m-%d', t)
  end
  if day_time(text) then
    return text
  end
  return nil, 'not a date: ' .. text .. ' (YYYY-MM-DD, today, tomorrow, +3d, +2w, or none)'
end

--- A body as buffer lines, and whether it ends with a newline. An empty body is an empty buffer
--- whose text, once typed, ends with a newline like a file's.
function M.body_lines(body)
  if body == '' then
    return { '' }, true
  end
  local eol = body:sub(-1) == '\n'
  if eol then
    body = body:sub(1, -2)
  end
  return vim.split(body, '\n', { plain = true }), eol
end

--- A buffer's text as a body: lines joined by "\n", with a final "\n" when 'eol' is set
--- (an empty buffer is an empty body).
function M.buffer_body(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local body = table.concat(lines, '\n')
  if vim.api.nvim_buf_get_option(buf, 'eol') and not (#lines == 1 and lines[1] == '') then
    body = body .. '\n'
  end
  return body
end

--- Replaces a buffer's text by `body` changing only the lines that differ, so the cursor and
--- marks on lines that did not change stay where they are (lines added above move them down).
function M.set_body(buf, body)
  local lines, eol = M.body_lines(body)
  local old = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local a = table.concat(old, '\n') .. '\n'
  local b = table.concat(lines, '\n') .. '\n'
  if a ~= b then
    local hunks = vim.diff(a, b, { result_type = 'indices' })
    -- Bottom-up, so each hunk's line numbers still hold when it is applied.
    for i = #hunks, 1, -1 do
      local sa, ca, sb, cb = unpack(hunks[i])
      local start = ca == 0 and sa or sa - 1
      local repl = {}
      for j = sb, sb + cb - 1 do
        repl[#repl + 1] = lines[j]
      end
      vim.api.nvim_buf_set_lines(buf, start, start + ca, false, repl)
    end
  end
  vim.api.nvim_buf_set_option(buf, 'eol', eol)
end

--- Asks whether to create something missing; on_yes() runs (guarded) when the answer is yes.
function M.ask_create(question, on_yes)
  vim.ui.select({ 'Create it', 'Cancel' }, { prompt = question }, function(choice)
    if choice == 'Create it' then
      M.guard(on_yes)
    end
  end)
end

--- The buffer named exactly `name`, or -1.
function M.find_buffer(name)
  return vim.fn.bufnr('^' .. vim.fn.escape(name, '\\/.*$^~[]') .. '$')
end

--- The buffer named `name`, made (listed) when there is none.
function M.named_buffer(name, scratch)
  local buf = M.find_buffer(name)
  if buf == -1 then
    buf = vim.api.nvim_create_buf(true, scratch)
    vim.api.nvim_buf_set_name(buf, name)
  end
  return buf
end

--- Keys of a list buffer: each {lhs, action name, description} calls act(action name). Set
--- once per buffer.
function M.list_keys(buf, keys, act)
  if vim.b[buf].heph_keys then
    return
  end
  vim.b[buf].heph_keys = true
  for _, k in ipairs(keys) do
    vim.keymap.set('n', k[1], function()
      act(k[2])
    end, { buffer = buf, nowait = true, desc = 'heph: ' .. k[3] })
  end
end

--- Closes a list: its window, or the buffer shown in the only window.
function M.close_list()
  vim.cmd(#vim.api.nvim_list_wins() > 1 and 'close' or 'bprevious')
end

--- A scratch buffer for lists (tasks, conflicts), reused by name.
function M.scratch(name, filetype)
  local buf = M.named_buffer(name, true)
  vim.api.nvim_buf_set_option(buf, 'buftype', 'nofile')
  vim.api.nvim_buf_set_option(buf, 'bufhidden', 'hide')
  vim.api.nvim_buf_set_option(buf, 'swapfile', false)
  vim.api.nvim_buf_set_option(buf, 'filetype', filetype)
  return buf
end

--- Writes lines into a read-only list buffer.
function M.set_list_lines(buf, lines)
  vim.api.nvim_buf_set_option(buf, 'modifiable', true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, 'modifiable', false)
  vim.api.nvim_buf_set_option(buf, 'modified', false)
end

--- Shows a buffer in the current window, or in a split when the current one holds changes.
function M.show(buf)
  if vim.api.nvim_get_current_buf() == buf then
    return
  end
  local cur = vim.api.nvim_get_current_buf()
  if vim.api.nvim_buf_get_option(cur, 'modified') and not vim.o.hidden then
    vim.cmd('split')
  end
  vim.api.nvim_win_set_buf(0, buf)
end

M.uv = uv

return M

-- :Heph next: what to do next, as a list where keys act on the task under the cursor (done,
-- skip, do-date, open its note), and :Heph add (quick add). The list follows changes made
-- elsewhere while it is shown.

local buffer = require('heph.buffer')
local session = require('heph.session')
local util = require('heph.util')

local M = {}

local NAME = 'heph:next'
local HEADER = 2 -- lines before the first task

-- The list buffer's tasks, by line.
local shown = { buf = nil, tasks = {}, today = nil }

local KEYS = {
  { 'x', 'done', 'mark done' },
  { 's', 'skip', 'skip this occurrence' },
  { 'd', 'do_date', 'set the do-date' },
  { '<CR>', 'open', "open the task's note" },
  { 'o', 'open', "open the task's note" },
  { 'a', 'add', 'quick add' },
  { 'r', 'refresh', 'refresh' },
  { 'q', 'close', 'close' },
}

local function width(s)
  return vim.fn.strdisplaywidth(s)
end

local function pad(s, n)
  return s .. string.rep(' ', math.max(0, n - width(s)))
end

local function dates(t, today)
  local parts = {}
  local late = util.val(t.late_on)
  local do_date = util.val(t.do_date)
  if late then
    parts[#parts + 1] = (late < today and 'LATE since ' or 'late on ') .. late
  end
  if do_date then
    parts[#parts + 1] = 'do ' .. do_date
  end
  if util.val(t.recurrence) then
    parts[#parts + 1] = '↻ ' .. t.recurrence
  end
  return table.concat(parts, ' · ')
end

--- The list's lines for a `next` result.
function M.render(result)
  local today = result.today
  local lines = {
    'heph next · ' .. today .. ' · x done  s skip  d do-date  <CR> open  a add  r refresh  q close',
    '',
  }
  local title_width = 10
  for _, t in ipairs(result.tasks) do
    title_width = math.max(title_width, math.min(width(t.title), 60))
  end
  for _, t in ipairs(result.tasks) do
    local line = pad(t.attention, 7) .. pad(t.title, title_width) .. '  ' .. dates(t, today)
    lines[#lines + 1] = (line:gsub('%s+$', ''))
  end
  if #result.tasks == 0 then
    lines[#lines + 1] = 'Nothing to do now.'
  end
  return lines
end

local ns = vim.api.nvim_create_namespace('heph_next')

local GROUPS = { red = 'HephRed', orange = 'HephOrange', white = 'HephWhite', blue = 'HephBlue' }

local function highlight(buf, tasks)
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  vim.api.nvim_buf_add_highlight(buf, ns, 'Title', 0, 0, -1)
  for i, t in ipairs(tasks) do
    local group = GROUPS[t.attention]
    if group then
      vim.api.nvim_buf_add_highlight(buf, ns, group, HEADER + i - 1, 0, #t.attention)
    end
  end
end

local function fill(buf, result)
  shown.tasks = result.tasks
  shown.today = result.today
  util.set_list_lines(buf, M.render(result))
  highlight(buf, result.tasks)
end

--- Fetches the list again (keeping the cursor's line where it can).
function M.refresh()
  local buf = shown.buf
  if not buf or not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  local result = session.call('next', { today = util.today() })
  fill(buf, result)
end

local function task_under_cursor()
  if vim.api.nvim_get_current_buf() ~= shown.buf then
    return nil
  end
  local row = vim.api.nvim_win_get_cursor(0)[1]
  local t = shown.tasks[row - HEADER]
  if not t then
    util.warn('put the cursor on a task')
  end
  return t
end

local actions = {}

function actions.done(t)
  local r = session.call('task.done', { id = t.id, today = util.today() })
  if r.rolled then
    util.notify('"' .. t.title .. '" done; next on ' .. tostring(util.val(r.next_do_date)))
  else
    util.notify('"' .. t.title .. '" done')
  end
  M.refresh()
end

function actions.skip(t)
  local r = session.call('task.skip', { id = t.id, today = util.today() })
  if r.rolled then
    util.notify('"' .. t.title .. '" skipped to ' .. tostring(util.val(r.next_do_date)))
  else
    util.notify('"' .. t.title .. '" is not recurring: nothing to skip')
  end
  M.refresh()
end

function actions.do_date(t)
  vim.ui.input({
    prompt = 'Do date for "' .. t.title .. '" (YYYY-MM-DD, tomorrow, +3d, none): ',
    default = util.val(t.do_date) or '',
  }, function(text)
    if text == nil then
      return
    end
    util.guard(function()
      local date, why = util.parse_date(text)
      if date == nil then
        error(util.new_error('invalid_params', why), 0)
      end
      session.call('task.update', { id = t.id, do_date = date or vim.NIL, today = util.today() })
      util.notify('"' .. t.title .. '" ' .. (date and ('do on ' .. date) or 'has no do date'))
      M.refresh()
    end)
  end)
end

function actions.open(t)
  local task = session.call('task.get', { id = t.id })
  buffer.open(util.val(task.context) or t.id)
end

function actions.add()
  vim.ui.input({ prompt = 'Add (quick add): ' }, function(text)
    if text == nil or vim.trim(text) == '' then
      return
    end
    util.guard(M.add, text)
  end)
end

function actions.refresh()
  M.refresh()
end

actions.close = util.close_list

--- Runs a list action on the task under the cursor (the keys call this).
function M.act(name)
  util.guard(function()
    if name == 'add' or name == 'refresh' or name == 'close' then
      return actions[name]()
    end
    local t = task_under_cursor()
    if t then
      actions[name](t)
    end
  end)
end

--- :Heph next
function M.next()
  local buf = util.scratch(NAME, 'heph-tasks')
  shown.buf = buf
  local result = session.call('next', { today = util.today() })
  fill(buf, result)
  util.list_keys(buf, KEYS, M.act)
  util.show(buf)
  if #result.tasks > 0 then
    vim.api.nvim_win_set_cursor(0, { HEADER + 1, 0 })
  end
  session.listen()
  return buf
end

--- :Heph add TEXT
function M.add(text)
  local r = session.call('add', { text = text, today = util.today() })
  local msg = 'added "' .. r.task.title .. '"'
  local project = util.val(r.project)
  if project then
    msg = msg .. ' to ' .. project.title .. (r.created_project and ' (new project)' or '')
  end
  util.notify(msg)
  M.refresh()
  return r
end

local function list_shown()
  return shown.buf ~= nil and vim.api.nvim_buf_is_valid(shown.buf) and vim.fn.bufwinid(shown.buf) ~= -1
end

local pending_refresh = false
session.on('task.changed', function()
  if not list_shown() or pending_refresh then
    return
  end
  -- One refresh for a burst of changes.
  pending_refresh = true
  vim.defer_fn(function()
    pending_refresh = false
    if list_shown() then
      session.request('next', { today = util.today() }, function(err, result)
        if not err and list_shown() then
          fill(shown.buf, result)
        end
      end)
    end
  end, 50)
end)
session.want_events(list_shown)

vim.cmd([[
  highlight default link HephRed DiagnosticError
  highlight default link HephOrange DiagnosticWarn
  highlight default link HephWhite Normal
  highlight default link HephBlue DiagnosticInfo
]])

return M

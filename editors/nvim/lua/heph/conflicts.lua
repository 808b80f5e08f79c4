-- :Heph conflicts: fields and bodies written concurrently on different devices, each with every
-- value. <CR> keeps the value under the cursor; e opens it in a buffer to edit, and :w there
-- keeps what the buffer holds. Every device then agrees on the value kept.

local buffer = require('heph.buffer')
local session = require('heph.session')
local util = require('heph.util')

local M = {}

local NAME = 'heph:conflicts'
local EDIT_PREFIX = 'heph-resolve://'

local shown = { buf = nil, rows = {} }

local function preview(value)
  if type(value) == 'string' then
    local lines = vim.split(value, '\n', { plain = true })
    local first = lines[1]
    if #lines > 1 then
      return first .. '  … (' .. #lines .. ' lines)'
    end
    return '"' .. first .. '"'
  end
  return vim.json.encode(value)
end

local function render(conflicts, here)
  local lines = {
    'heph conflicts · <CR> keep this value  e edit it, then :w keeps it  o open the note  r refresh  q close',
    '',
  }
  local rows = {}
  for _, c in ipairs(conflicts) do
    local t = c.title ~= '' and c.title or nil
    lines[#lines + 1] = (t and ('"' .. t .. '"') or c.target) .. ' · ' .. c.field
    rows[#lines] = { conflict = c }
    for i, h in ipairs(c.heads) do
      local who = h.origin == here and 'this device' or ('device ' .. h.origin:sub(1, 8))
      lines[#lines + 1] = string.format('  %d  %s   %s · %s', i, preview(util.val(h.value)), h.at:sub(1, 16):gsub('T', ' '), who)
      rows[#lines] = { conflict = c, head = h }
    end
  end
  if #conflicts == 0 then
    lines[#lines + 1] = 'No conflicts.'
  end
  return lines, rows
end

function M.refresh()
  local buf = shown.buf
  if not buf or not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  local replies = session.call_all({ { 'conflicts.list', {} }, { 'status', {} } })
  if replies[1][1] then
    error(replies[1][1], 0)
  end
  local conflicts = replies[1][2].conflicts
  local here = replies[2][2] and replies[2][2].replica_id
  local lines, rows = render(conflicts, here)
  shown.rows = rows
  shown.conflicts = conflicts
  util.set_list_lines(buf, lines)
  return conflicts
end

local function row_under_cursor()
  if vim.api.nvim_get_current_buf() ~= shown.buf then
    return nil
  end
  return shown.rows[vim.api.nvim_win_get_cursor(0)[1]]
end

--- Keeps `value` for a conflict; every device then agrees on it.
function M.resolve(target, field, value)
  session.call('conflicts.resolve', { target = target, field = field, value = value })
  util.notify('kept a value for ' .. field .. ' of ' .. target)
  M.refresh()
end

local function edit(c, h)
  local name = EDIT_PREFIX .. c.target .. '/' .. c.field
  local buf = util.named_buffer(name, false)
  vim.api.nvim_buf_set_option(buf, 'buftype', 'acwrite')
  vim.api.nvim_buf_set_option(buf, 'swapfile', false)
  local value = util.val(h.value)
  local is_text = type(value) == 'string'
  vim.b[buf].heph_resolve = { target = c.target, field = c.field, text = is_text }
  local lines, eol
  if is_text then
    lines, eol = util.body_lines(value)
  else
    lines, eol = { vim.json.encode(value) }, false
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, 'eol', eol)
  vim.api.nvim_buf_set_option(buf, 'fixeol', false)
  vim.api.nvim_buf_set_option(buf, 'filetype', c.field == 'body' and 'markdown' or (is_text and 'text' or 'json'))
  vim.api.nvim_buf_set_option(buf, 'modified', false)
  util.show(buf)
  util.notify('edit the value, then :w keeps it for every device')
end

--- BufWriteCmd of a heph-resolve:// buffer: keeps its text as the value.
function M.write(buf)
  util.guard(function()
    local r = vim.b[buf].heph_resolve
    if not r then
      error(util.new_error('invalid_params', 'this buffer is not a conflict value (open it from :Heph conflicts)'), 0)
    end
    local value
    if r.text then
      value = util.buffer_body(buf)
    else
      local ok, v = pcall(vim.json.decode, table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n'))
      if not ok then
        error(util.new_error('invalid_params', 'the value is not JSON'), 0)
      end
      value = v
    end
    M.resolve(r.target, r.field, value)
    vim.api.nvim_buf_set_option(buf, 'modified', false)
  end)
end

local actions = {
  keep = function(row)
    if not row.head then
      return util.warn('put the cursor on one of the values')
    end
    M.resolve(row.conflict.target, row.conflict.field, row.head.value)
  end,
  edit = function(row)
    if not row.head then
      return util.warn('put the cursor on one of the values')
    end
    edit(row.conflict, row.head)
  end,
  open = function(row)
    buffer.open(row.conflict.target)
  end,
}

function M.act(name)
  util.guard(function()
    if name == 'refresh' then
      return M.refresh()
    elseif name == 'close' then
      return util.close_list()
    end
    local row = row_under_cursor()
    if not row then
      return util.warn('put the cursor on a conflict')
    end
    actions[name](row)
  end)
end

--- :Heph conflicts
function M.open()
  local buf = util.scratch(NAME, 'heph-conflicts')
  shown.buf = buf
  local conflicts = M.refresh()
  util.list_keys(buf, {
    { '<CR>', 'keep', 'keep this value' },
    { 'e', 'edit', 'edit this value, then :w keeps it' },
    { 'o', 'open', 'open the note' },
    { 'r', 'refresh', 'refresh' },
    { 'q', 'close', 'close' },
  }, M.act)
  util.show(buf)
  if #conflicts > 0 then
    vim.api.nvim_win_set_cursor(0, { 4, 0 })
  end
  return buf
end

session.on('conflict.changed', function()
  if shown.buf and vim.api.nvim_buf_is_valid(shown.buf) and vim.fn.bufwinid(shown.buf) ~= -1 then
    vim.schedule(function()
      pcall(M.refresh)
    end)
  end
end)

return M

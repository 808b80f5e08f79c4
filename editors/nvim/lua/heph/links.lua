-- [[Wiki links]] in heph buffers: completion of titles and aliases after [[ (an omnifunc and a
-- completefunc, so completion plugins can use either), and gf / <CR> on a link to open the note
-- it resolves to (hephd resolves it exactly as it resolves links for backlinks), creating the
-- note after a prompt when none has that name.

local buffer = require('heph.buffer')
local config = require('heph.config')
local session = require('heph.session')
local util = require('heph.util')

local M = {}

--- The [[link]] around byte column `col` (0-based) of `line`: target, first and last byte
--- (1-based, brackets included); nil when the cursor is not on one.
function M.link_at(line, col)
  local pos = 1
  while true do
    local s, e = line:find('%[%[.-%]%]', pos)
    if not s then
      return nil
    end
    if col + 1 >= s and col + 1 <= e then
      local inner = line:sub(s + 2, e - 2)
      local target = inner:gsub('|.*$', ''):gsub('#.*$', '')
      target = vim.trim(target)
      if target == '' then
        return nil
      end
      return target, s, e
    end
    pos = e + 1
  end
end

--- Where completion starts on a line whose text before the cursor is `before`: the byte
--- column (0-based) after an unclosed [[, or nil.
function M.completion_start(before)
  local open = nil
  local pos = 1
  while true do
    local s = before:find('[[', pos, true)
    if not s then
      break
    end
    open = s
    pos = s + 2
  end
  if not open then
    return nil
  end
  local typed = before:sub(open + 2)
  if typed:find(']]', 1, true) or typed:find('|', 1, true) or typed:find('#', 1, true) then
    return nil
  end
  return open + 1
end

local function candidates(base)
  local st = buffer.state()
  local params = { prefix = base, limit = 50 }
  if st and st.loaded then
    params.from = st.id
  end
  local ok, res = pcall(session.call, 'wiki.complete', params, { timeout_ms = math.min(config.get().timeout_ms, 2000) })
  if not ok then
    util.error('completion: ' .. util.message(res))
    return {}
  end
  local items = {}
  for _, n in ipairs(res.names) do
    local menu = n.how == 'alias' and ('alias of ' .. n.title) or n.kind
    items[#items + 1] = { word = n.name, menu = '[heph] ' .. menu, info = n.id, icase = 1 }
  end
  return items
end

--- 'omnifunc' and 'completefunc' for heph buffers: completes the text after [[.
function M.complete(findstart, base)
  if findstart == 1 then
    local col = vim.api.nvim_win_get_cursor(0)[2]
    local line = vim.api.nvim_get_current_line()
    local start = M.completion_start(line:sub(1, col))
    if start == nil then
      return -3 -- not in a link: leave completion mode quietly
    end
    return start
  end
  return candidates(base)
end

--- The note a link target means, opened; created after asking when none has that name.
function M.open_target(target, from_id)
  local res = session.call('wiki.resolve', { target = target, from = from_id })
  local node = util.val(res.node)
  if node then
    buffer.open(node.id)
    return
  end
  local title = target:gsub('%.md$', ''):match('([^/]*)$')
  util.ask_create('No note is named "' .. target .. '". Create "' .. title .. '"?', function()
    local created = session.call('node.create', { kind = 'doc', title = title })
    util.notify('created "' .. title .. '"')
    buffer.open(created.id)
  end)
end

--- Follows the link under the cursor; false when the cursor is not on one.
function M.follow()
  local line = vim.api.nvim_get_current_line()
  local col = vim.api.nvim_win_get_cursor(0)[2]
  local target = M.link_at(line, col)
  if not target then
    return false
  end
  local st = buffer.state()
  util.guard(M.open_target, target, st and st.id)
  return true
end

local function termcodes(keys)
  return vim.api.nvim_replace_termcodes(keys, true, true, true)
end

local function follow_or(keys)
  return function()
    local line = vim.api.nvim_get_current_line()
    local col = vim.api.nvim_win_get_cursor(0)[2]
    if M.link_at(line, col) then
      -- Mappings run with text locked: open the note just after.
      vim.schedule(M.follow)
      return ''
    end
    return termcodes(keys)
  end
end

--- Opens completion when the second [ of [[ is typed (InsertCharPre: it works for keys a
--- mapping or a macro types too, where TextChangedI waits until nothing is left to type).
local function before_char()
  if vim.v.char ~= '[' or vim.fn.pumvisible() == 1 then
    return
  end
  local col = vim.api.nvim_win_get_cursor(0)[2]
  if col >= 1 and vim.api.nvim_get_current_line():sub(col, col) == '[' then
    -- Queued after the [ being typed.
    vim.api.nvim_feedkeys(termcodes('<C-x><C-o>'), 'n', false)
  end
end

function M.attach(buf)
  local st = buffer.state(buf)
  if st.links_attached then
    return
  end
  st.links_attached = true
  local func = "v:lua.require'heph.links'.complete"
  vim.api.nvim_buf_set_option(buf, 'omnifunc', func)
  vim.api.nvim_buf_set_option(buf, 'completefunc', func)
  local opts = config.get()
  if opts.link_mappings then
    for _, key in ipairs({ 'gf', '<CR>' }) do
      vim.keymap.set('n', key, follow_or(key), {
        buffer = buf,
        expr = true,
        desc = 'heph: open the [[link]] under the cursor',
      })
    end
  end
  if opts.complete_on_brackets then
    vim.api.nvim_create_autocmd('InsertCharPre', {
      buffer = buf,
      callback = before_char,
      desc = 'heph: complete [[links]]',
    })
  end
end

return M

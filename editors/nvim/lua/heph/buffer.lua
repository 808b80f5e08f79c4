-- Notes in buffers named heph://<id>. Guarantees:
-- - :w sends the whole buffer with the body_version it was read at (base_version), so edits
--   that synced in meanwhile are merged, never erased; the buffer then shows the merged body,
--   changing only the lines that differ (the cursor stays on its text);
-- - a note that changes elsewhere reloads in place while its buffer is unmodified; a modified
--   buffer is never touched: it gets one notice, and its next :w merges both;
-- - a buffer that did not load, or whose last save may or may not have reached hephd, is never
--   saved blindly: the first is refused, the second is checked against what hephd holds.

local session = require('heph.session')
local util = require('heph.util')

local M = {}

--- Per buffer: {id, title, version, loaded, gen, saving, stale, uncertain, ...}.
local states = {}

local PREFIX = 'heph://'

function M.url(id)
  return PREFIX .. id
end

local function id_in_name(buf)
  return vim.api.nvim_buf_get_name(buf):match('^heph://(.+)$')
end

function M.state(buf)
  return states[buf or vim.api.nvim_get_current_buf()]
end

--- Loaded heph buffers and their states.
function M.each()
  local out = {}
  for buf, st in pairs(states) do
    if vim.api.nvim_buf_is_valid(buf) and st.loaded then
      out[#out + 1] = { buf, st }
    end
  end
  return out
end

local function label(st)
  if st.title and st.title ~= '' then
    return '"' .. st.title .. '"'
  end
  return st.id
end

local function set_option(buf, name, value)
  vim.api.nvim_buf_set_option(buf, name, value)
end

--- Opens a note by id in the current window (a split when the current buffer has unsaved
--- changes and 'hidden' is off).
function M.open(id)
  local url = M.url(id)
  local existing = util.find_buffer(url)
  if existing ~= -1 and existing == vim.api.nvim_get_current_buf() then
    return existing
  end
  local cmd = (vim.bo.modified and not vim.o.hidden) and 'split ' or 'edit '
  vim.cmd(cmd .. vim.fn.fnameescape(url))
  return vim.api.nvim_get_current_buf()
end

local function load_node(buf, st, node)
  local lines, eol = util.body_lines(node.body)
  local undolevels = vim.api.nvim_buf_get_option(buf, 'undolevels')
  -- Loading is not an edit the user could undo (as for a file read).
  set_option(buf, 'undolevels', -1)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  set_option(buf, 'undolevels', undolevels)
  set_option(buf, 'eol', eol)
  st.id = node.id
  st.title = node.title
  st.kind = node.kind
  st.version = node.body_version
  st.deleted = node.deleted
  st.loaded = true
  st.stale = nil
  st.uncertain = nil
  vim.b[buf].heph_id = node.id
  vim.b[buf].heph_title = node.title
  vim.b[buf].heph_stale = false
  set_option(buf, 'modified', false)
end

--- BufReadCmd: fills the buffer from hephd (also on :e!, dropping unsaved changes).
function M.read(buf)
  local ref = id_in_name(buf)
  local prev = states[buf]
  local st = { id = ref, gen = prev and prev.gen + 1 or 0, loaded = false }
  states[buf] = st
  set_option(buf, 'buftype', 'acwrite')
  set_option(buf, 'fileformat', 'unix')
  set_option(buf, 'fixeol', false)
  local ok, node = pcall(session.call, 'node.get', { id = ref })
  if not ok then
    st.error = util.message(node)
    util.error('cannot open ' .. ref .. ': ' .. st.error)
    set_option(buf, 'modified', false)
    return
  end
  load_node(buf, st, node)
  if vim.api.nvim_buf_get_option(buf, 'filetype') ~= 'markdown' then
    set_option(buf, 'filetype', 'markdown')
  end
  require('heph.links').attach(buf)
  session.listen()
  if node.deleted then
    util.warn(label(st) .. ' is in the trash; restore it (heph restore ' .. node.id .. ') before saving')
  end
end

local function saved_message(st, merged)
  if merged then
    return label(st) .. ' saved, merged with changes made elsewhere'
  end
  return label(st) .. ' saved'
end

--- Settles a save whose outcome was unknown. Returns the base_version to save on, or nil when
--- saving now could double or drop text (the user is told what to do).
local function settle_uncertain(buf, st, bang)
  local u = st.uncertain
  local cur = session.call('node.get', { id = st.id })
  if cur.body == u.body then
    -- It arrived (and nothing changed since).
    st.uncertain = nil
    return cur.body_version
  end
  if cur.body_version == u.base then
    -- It did not arrive: nothing changed since it was made.
    st.uncertain = nil
    return u.base
  end
  if bang then
    st.uncertain = nil
    return cur.body_version
  end
  util.error(
    label(st)
      .. ': the last save may or may not have reached hephd, and the note has changed since. '
      .. 'Saving again could double your edits. :e! shows what is stored (copy your text first), '
      .. 'or :w! makes your buffer the note as it is now.'
  )
  return nil
end

--- BufWriteCmd: saves the buffer as the note's body, merged with what synced in meanwhile.
function M.write(buf, bang)
  local st = states[buf]
  if not st or not st.loaded then
    util.error(
      (st and st.id or id_in_name(buf) or 'this buffer')
        .. ' was not loaded from hephd'
        .. (st and st.error and (' (' .. st.error .. ')') or '')
        .. '; :e to load it before saving'
    )
    return
  end
  local body = util.buffer_body(buf)
  local base = st.version
  if st.uncertain then
    local ok, res = pcall(settle_uncertain, buf, st, bang)
    if not ok then
      util.error('could not save ' .. label(st) .. ': ' .. util.message(res))
      return
    end
    if res == nil then
      return
    end
    base = res
  end
  st.saving = true
  local ok, node = pcall(session.call, 'node.update', { id = st.id, body = body, base_version = base })
  st.saving = false
  if not ok then
    local e = node
    if util.is_error(e) and (e.code == 'unknown_outcome' or e.code == 'timeout' or e.code == 'interrupted') then
      st.uncertain = { body = body, base = base }
    end
    local hint = ''
    if util.is_error(e) and e.code == 'conflict' then
      hint = '; :e! reloads the stored text (copy yours first), :w! saves your text over it'
      if bang then
        local cur_ok, cur = pcall(session.call, 'node.get', { id = st.id })
        if cur_ok then
          st.version = cur.body_version
          return M.write(buf, false)
        end
      end
    end
    util.error('could not save ' .. label(st) .. ': ' .. util.message(e) .. hint)
    M.after_save(buf, st)
    return
  end
  st.gen = st.gen + 1
  local merged = node.body ~= body
  if merged then
    util.set_body(buf, node.body)
  end
  st.version = node.body_version
  st.title = node.title
  st.stale = nil
  vim.b[buf].heph_title = node.title
  vim.b[buf].heph_stale = false
  set_option(buf, 'modified', false)
  util.notify(saved_message(st, merged))
  M.after_save(buf, st)
end

function M.after_save(buf, st)
  if st.refresh_after_save then
    st.refresh_after_save = nil
    M.refresh(buf)
  end
end

--- Brings an unmodified buffer up to date with hephd; tells a modified one that the note
--- changed (its next :w merges).
function M.refresh(buf)
  local st = states[buf]
  if not st or not st.loaded then
    return
  end
  if st.saving then
    st.refresh_after_save = true
    return
  end
  local gen = st.gen
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  session.request('node.get', { id = st.id }, function(err, node)
    if err or states[buf] ~= st or st.gen ~= gen or not vim.api.nvim_buf_is_loaded(buf) then
      return
    end
    if node.deleted and not st.deleted then
      util.warn(label(st) .. ' was moved to the trash elsewhere')
    end
    st.deleted = node.deleted
    if node.body_version == st.version then
      return
    end
    if vim.api.nvim_buf_get_option(buf, 'modified') or vim.api.nvim_buf_get_changedtick(buf) ~= tick then
      if st.stale ~= node.body_version then
        local first = st.stale == nil
        st.stale = node.body_version
        vim.b[buf].heph_stale = true
        if first then
          util.warn(
            label(st)
              .. ' changed elsewhere while you edit it; :w merges both (:e! drops your changes)'
          )
        end
      end
      return
    end
    local ok = pcall(util.set_body, buf, node.body)
    if not ok then
      -- Text is locked (completion menu, command-line window): try again shortly.
      vim.defer_fn(function()
        M.refresh(buf)
      end, 100)
      return
    end
    st.gen = st.gen + 1
    st.version = node.body_version
    st.title = node.title
    vim.b[buf].heph_title = node.title
    set_option(buf, 'modified', false)
    vim.api.nvim_echo({ { 'heph: ' .. label(st) .. ' reloaded (changed elsewhere)' } }, false, {})
  end)
end

function M.forget(buf)
  states[buf] = nil
end

local function on_changed(params)
  local ids = {}
  for _, id in ipairs(params.ids or {}) do
    ids[id] = true
  end
  for _, e in ipairs(M.each()) do
    if ids[e[2].id] then
      M.refresh(e[1])
    end
  end
end

session.on('node.changed', on_changed)
session.on('reconnected', function()
  for _, e in ipairs(M.each()) do
    M.refresh(e[1])
  end
end)
session.want_events(function()
  return #M.each() > 0
end)

return M

-- Finding notes: names (NAME arguments), backlinks and search, the last two as quickfix lists
-- whose entries open heph:// buffers at the line that matched.

local buffer = require('heph.buffer')
local session = require('heph.session')
local util = require('heph.util')

local M = {}

local function choose(ids, name, cb)
  local gets = session.call_all(vim.tbl_map(function(id)
    return { 'node.get', { id = id } }
  end, ids))
  local nodes = {}
  for i, g in ipairs(gets) do
    nodes[#nodes + 1] = g[2] or { id = ids[i], kind = '?', title = '?' }
  end
  vim.ui.select(nodes, {
    prompt = '"' .. name .. '" names ' .. #nodes .. ' notes:',
    format_item = function(n)
      return string.format('%-8s %s  (%s)', n.kind, n.title, n.short_id or n.id)
    end,
  }, function(n)
    if n then
      cb(n.id)
    end
  end)
end

--- Finds the node NAME means (id, short id, alias or exact title, else a [[link]] to it) and
--- calls cb(id); asks when it names several. `missing(name)` runs when nothing has the name
--- (default: an error).
function M.resolve(name, cb, missing)
  local ok, res = pcall(session.call, 'node.resolve', { name = name })
  if ok then
    return cb(res.id)
  end
  local e = res
  if util.is_error(e) and e.code == 'ambiguous' and type(e.data) == 'table' and type(e.data.ids) == 'table' then
    return choose(e.data.ids, name, cb)
  end
  if util.is_error(e) and e.code == 'not_found' then
    local link = session.call('wiki.resolve', { target = name })
    local node = util.val(link.node)
    if node then
      return cb(node.id)
    end
    if missing then
      return missing(name)
    end
  end
  error(e, 0)
end

--- The id of the note in the current buffer, or an error saying a NAME is needed.
function M.current_id(what)
  local st = buffer.state()
  if st and st.loaded then
    return st.id
  end
  error(util.new_error('invalid_params', 'this is not a heph note: give a name (:Heph ' .. what .. ' NAME)'), 0)
end

--- First line of `body` containing one of `needles` (ignoring case): lnum, col, text.
function M.locate(body, needles)
  local lnum = 0
  for line in (body .. '\n'):gmatch('(.-)\n') do
    lnum = lnum + 1
    local lower = line:lower()
    for _, n in ipairs(needles) do
      local col = n ~= '' and lower:find(n:lower(), 1, true)
      if col then
        return lnum, col, line
      end
    end
  end
  return 1, 1, nil
end

--- Reads each node's body at once (pipelined) and makes quickfix items.
local function items_for(entries, needles_of, text_of)
  local gets = session.call_all(vim.tbl_map(function(e)
    return { 'node.get', { id = e.id } }
  end, entries))
  local items = {}
  for i, e in ipairs(entries) do
    local node = gets[i][2]
    local lnum, col, line = 1, 1, nil
    if node then
      lnum, col, line = M.locate(node.body, needles_of(e))
    end
    items[#items + 1] = {
      filename = buffer.url(e.id),
      lnum = lnum,
      col = col,
      text = e.title .. ': ' .. (line and vim.trim(line) or text_of(e)),
    }
  end
  return items
end

local function show(title, items, empty)
  vim.fn.setqflist({}, ' ', { title = title, items = items })
  if #items == 0 then
    util.notify(empty)
    return
  end
  vim.cmd('copen')
end

--- :Heph backlinks [NAME]
function M.backlinks(name)
  local function run(id)
    local node = session.call('node.get', { id = id })
    local res = session.call('wiki.backlinks', { id = id })
    local items = items_for(res.backlinks, function(b)
      return vim.tbl_map(function(t)
        return '[[' .. t
      end, b.targets)
    end, function()
      return ''
    end)
    show('heph backlinks: ' .. node.title, items, 'no note links to "' .. node.title .. '"')
    return items
  end
  if name and name ~= '' then
    return M.resolve(name, run)
  end
  return run(M.current_id('backlinks'))
end

local function words(query)
  local out = {}
  for w in query:gsub('"', ' '):gmatch('%S+') do
    out[#out + 1] = w
  end
  return out
end

--- :Heph search TEXT
function M.search(query)
  local res = session.call('search', { query = query, limit = 100 })
  local needles = words(query)
  local items = items_for(res.results, function()
    return needles
  end, function(r)
    return (r.snippet:gsub('%*%*', ''))
  end)
  show('heph search: ' .. query, items, 'nothing matches "' .. query .. '"')
  return items
end

return M

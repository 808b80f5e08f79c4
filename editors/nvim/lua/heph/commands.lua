-- :Heph SUBCOMMAND [ARGS]: the command line of the plugin, with completion of subcommands and
-- of note names (titles and aliases from hephd).

local heph = require('heph')
local util = require('heph.util')

local M = {}

M.subcommands = {
  open = { run = heph.open, args = 'NAME', names = true, help = 'open a note by name, alias or id' },
  new = { run = heph.new, args = 'TITLE', help = 'create a note and open it' },
  journal = { run = heph.journal, args = '[DATE]', help = "open a day's journal (today by default)" },
  backlinks = { run = heph.backlinks, args = '[NAME]', names = true, help = 'notes linking here, in the quickfix list' },
  search = { run = heph.search, args = 'TEXT', help = 'full-text search, in the quickfix list' },
  next = { run = heph.next, args = '', help = 'what to do next (x done, s skip, d do-date, <CR> open)' },
  add = { run = heph.add, args = 'TEXT', help = 'quick add a task ("Pay rent tomorrow !red #Home")' },
  conflicts = { run = heph.conflicts, args = '', help = 'list and resolve conflicts' },
  status = {
    run = function()
      local i = heph.status_info()
      util.notify(i.verdict or (i.error or 'asking hephd…'))
    end,
    args = '',
    help = 'sync status',
  },
}

local function usage()
  local names = vim.tbl_keys(M.subcommands)
  table.sort(names)
  local lines = { 'usage: :Heph SUBCOMMAND' }
  for _, n in ipairs(names) do
    local s = M.subcommands[n]
    lines[#lines + 1] = string.format('  %-22s %s', n .. (s.args ~= '' and (' ' .. s.args) or ''), s.help)
  end
  return table.concat(lines, '\n')
end

function M.run(opts)
  local sub, rest = opts.args:match('^%s*(%S+)%s*(.-)%s*$')
  if not sub then
    return util.notify(usage())
  end
  local s = M.subcommands[sub]
  if not s then
    return util.error('no subcommand ' .. sub .. '\n' .. usage())
  end
  if s.args == '' and rest ~= '' then
    return util.error(':Heph ' .. sub .. ' takes no arguments')
  end
  s.run(rest ~= '' and rest or nil)
end

--- Completion of :Heph's arguments.
function M.complete(arglead, cmdline)
  local sub = cmdline:match('^%s*%S*Heph!?%s+(%S+)%s')
  if not sub then
    local out = {}
    for name in pairs(M.subcommands) do
      if name:sub(1, #arglead) == arglead then
        out[#out + 1] = name
      end
    end
    table.sort(out)
    return out
  end
  local s = M.subcommands[sub]
  if s and s.names then
    local typed = cmdline:match('^%s*%S*Heph!?%s+%S+%s+(.*)$') or ''
    local ok, res = pcall(require('heph.session').call, 'wiki.complete', { prefix = typed, limit = 50 }, { timeout_ms = 1000 })
    if not ok then
      return {}
    end
    -- Completion replaces only the last word, so offer each name from where that word starts.
    local before = #typed - #arglead
    local out = {}
    for _, n in ipairs(res.names) do
      if before == 0 then
        out[#out + 1] = n.name
      elseif n.name:sub(1, #typed):lower() == typed:lower() then
        out[#out + 1] = n.name:sub(before + 1)
      end
    end
    return out
  end
  if sub == 'journal' then
    return vim.tbl_filter(function(w)
      return w:sub(1, #arglead) == arglead
    end, { 'today', 'yesterday', 'tomorrow' })
  end
  return {}
end

return M

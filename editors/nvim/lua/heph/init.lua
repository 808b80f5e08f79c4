-- heph.nvim: notes and tasks from hephd in Neovim. The functions behind :Heph, for mappings and
-- scripts; each reports a failure as one message and returns nothing.

local config = require('heph.config')
local util = require('heph.util')

local M = {}

--- Options (all optional): socket, timeout_ms, complete_on_brackets, link_mappings, trace.
function M.setup(opts)
  config.setup(opts)
end

local function buffer()
  return require('heph.buffer')
end

local function lists()
  return require('heph.lists')
end

local function session()
  return require('heph.session')
end

--- The argument trimmed; an error saying `usage` when it is missing or blank.
local function required(arg, usage)
  if not arg or vim.trim(arg) == '' then
    error(util.new_error('invalid_params', usage), 0)
  end
  return vim.trim(arg)
end

--- Opens the note NAME (id, short id, alias or title); offers to create it when none has it.
function M.open(name)
  return util.guard(function()
    name = required(name, 'which note? :Heph open NAME')
    lists().resolve(name, buffer().open, function(missing)
      util.ask_create('No note is named "' .. missing .. '". Create it?', function()
        M.new(missing)
      end)
    end)
  end)
end

--- Creates a note titled TITLE and opens it.
function M.new(title)
  return util.guard(function()
    title = required(title, 'a new note needs a title: :Heph new TITLE')
    local node = session().call('node.create', { kind = 'doc', title = title })
    buffer().open(node.id)
    return node
  end)
end

--- Opens the journal of DATE (YYYY-MM-DD, today, yesterday, -2d, ...; today by default).
function M.journal(date)
  return util.guard(function()
    local day, why = util.parse_date(date or 'today')
    if not day then
      error(util.new_error('invalid_params', why or 'which day? :Heph journal [DATE]'), 0)
    end
    local r = session().call('journal.open', { date = day })
    buffer().open(r.journal.id)
    return r.journal
  end)
end

function M.backlinks(name)
  return util.guard(lists().backlinks, name)
end

function M.search(text)
  return util.guard(function()
    return lists().search(required(text, 'search for what? :Heph search TEXT'))
  end)
end

function M.next()
  return util.guard(require('heph.tasks').next)
end

function M.add(text)
  return util.guard(function()
    return require('heph.tasks').add(required(text, 'add what? :Heph add TEXT (e.g. Pay rent tomorrow !red)'))
  end)
end

function M.conflicts()
  return util.guard(require('heph.conflicts').open)
end

--- A short sync line for a statusline ("heph: in sync", "heph: offline · 2 pending · 1 conflict");
--- never waits for hephd.
function M.status()
  return require('heph.status').line()
end

--- What status() shows, as a table: sync.status's fields (state, verdict, pending, conflicts,
--- ...) and `connected`.
function M.status_info()
  return require('heph.status').info()
end

--- Calls any hephd method and waits for the result (raises an error with .code and .message).
function M.call(method, params, opts)
  return session().call(method, params, opts)
end

return M

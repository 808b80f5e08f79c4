-- The plugin's cases, each run by test/nvim/runner.lua in its own Neovim against the hephd of
-- test/nvim/plugin.test.ts, which made the notes and tasks named in t.args and checks the
-- daemon's side afterwards. Keys are typed with t.feed, as a user types them.

local heph = require('heph')

local cases = {}

local function notices_matching(t, pattern)
  local out = {}
  for _, n in ipairs(t.notices()) do
    if n.msg:find(pattern) then
      out[#out + 1] = n
    end
  end
  return out
end

local function find_line(lines, text)
  for i, l in ipairs(lines) do
    if l:find(text, 1, true) then
      return i
    end
  end
  return nil
end

--- vim.ui.select and vim.ui.input answered as a user would (completion plugins replace them
--- the same way).
local function answer_select(choice)
  local asked = {}
  vim.ui.select = function(items, opts, cb)
    asked[#asked + 1] = opts.prompt
    for _, item in ipairs(items) do
      local text = opts.format_item and opts.format_item(item) or item
      if type(choice) == 'function' and choice(text) or text == choice then
        return cb(item)
      end
    end
    cb(nil)
  end
  return asked
end

local function answer_input(text)
  vim.ui.input = function(_, cb)
    cb(text)
  end
end

function cases.open_edit_save(t)
  vim.cmd('Heph open Garden')
  t.eq(vim.api.nvim_buf_get_name(0), 'heph://' .. t.args.garden, 'buffer name')
  t.eq(t.lines(), { '# Garden', '', 'Tomatoes', 'Beans' }, 'lines')
  t.eq(vim.bo.modified, false, "'modified' after opening")
  t.eq(vim.bo.filetype, 'markdown', 'filetype')
  t.eq(vim.b.heph_id, t.args.garden, 'b:heph_id')
  vim.api.nvim_win_set_cursor(0, { 4, 0 })
  t.feed('oPeas<Esc>')
  t.ok(vim.bo.modified, "'modified' after typing")
  vim.cmd('write')
  t.eq(vim.bo.modified, false, "'modified' after :w")
  t.eq(heph.call('node.get', { id = t.args.garden }).body, '# Garden\n\nTomatoes\nBeans\nPeas\n', 'stored body')
  t.eq(#notices_matching(t, '^heph: "Garden" saved$'), 1, 'one "saved" message')
  -- The same note by alias and by short id is the same buffer.
  local buf = vim.api.nvim_get_current_buf()
  vim.cmd('Heph open veg')
  t.eq(vim.api.nvim_get_current_buf(), buf, 'buffer of the alias')
  vim.cmd('Heph open ' .. t.args.garden_short)
  t.eq(vim.api.nvim_get_current_buf(), buf, 'buffer of the short id')
end

function cases.reload_unmodified(t)
  heph.open('Reload me')
  t.eq(t.lines(), { 'one', 'two', 'three' }, 'lines')
  vim.api.nvim_win_set_cursor(0, { 3, 2 })
  -- Another process (the heph CLI, another editor) changes the note.
  t.step('edit_elsewhere')
  t.wait_for(function()
    return t.lines()[1] == 'zero'
  end, 'the buffer to reload')
  t.eq(t.lines(), { 'zero', 'one', 'two', 'three' }, 'reloaded lines')
  t.eq(vim.api.nvim_win_get_cursor(0), { 4, 2 }, 'cursor on the same text')
  t.eq(vim.bo.modified, false, "'modified' after the reload")
  -- The buffer now stands on the new version: typing and saving keeps the other edit.
  t.feed('Gofour<Esc>')
  vim.cmd('write')
  t.eq(heph.call('node.get', { id = vim.b.heph_id }).body, 'zero\none\ntwo\nthree\nfour\n', 'stored body')
end

function cases.merge_on_save(t)
  heph.open('Merge me')
  local id = vim.b.heph_id
  t.eq(t.lines(), { 'alpha', 'beta', 'gamma' }, 'lines')
  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  t.feed('omine at the end<Esc>')
  -- A second client edits the first line while the buffer holds unsaved changes.
  local other = t.other_client()
  local n = other:call('node.get', { id = id })
  other:call('node.update', { id = id, body = 'ALPHA from elsewhere\nbeta\ngamma\n', base_version = n.body_version })
  t.wait_for(function()
    return #notices_matching(t, 'changed elsewhere while you edit it') == 1
  end, 'a notice that the note changed')
  t.eq(t.lines(), { 'alpha', 'beta', 'gamma', 'mine at the end' }, 'the modified buffer is untouched')
  t.ok(vim.bo.modified, "'modified' kept")
  t.eq(vim.b.heph_stale, true, 'b:heph_stale')
  vim.cmd('write')
  local want = { 'ALPHA from elsewhere', 'beta', 'gamma', 'mine at the end' }
  t.eq(t.lines(), want, 'the buffer shows both edits')
  t.eq(vim.api.nvim_win_get_cursor(0)[1], 4, 'cursor on its line')
  t.eq(vim.bo.modified, false, "'modified' after :w")
  t.eq(other:call('node.get', { id = id }).body, table.concat(want, '\n') .. '\n', 'stored body, each edit once')
  t.eq(#notices_matching(t, 'saved, merged with changes made elsewhere'), 1, 'merge message')
  other:close()
end

function cases.link_completion(t)
  heph.open('Links')
  t.eq(vim.bo.omnifunc, "v:lua.require'heph.links'.complete", 'omnifunc')
  t.eq(vim.bo.completefunc, "v:lua.require'heph.links'.complete", 'completefunc')
  -- The function completion plugins call: findstart, then the candidates.
  vim.api.nvim_buf_set_lines(0, -1, -1, false, { 'See [[Gar' })
  vim.cmd('startinsert!')
  local line_count = vim.api.nvim_buf_line_count(0)
  vim.api.nvim_win_set_cursor(0, { line_count, 9 })
  local complete = require('heph.links').complete
  t.eq(complete(1, ''), 6, 'findstart: the column after [[')
  local words = vim.tbl_map(function(i)
    return i.word
  end, complete(0, 'Gar'))
  t.eq(words, { 'Garden' }, 'candidates for Gar')
  local veg = complete(0, 've')
  t.eq(veg[1].word, 'veg', 'an alias')
  t.eq(veg[1].menu, '[heph] alias of Garden', 'what the alias names')
  vim.cmd('stopinsert')
  -- Typed as a user types: [[ opens completion, <C-x><C-o> completes, <C-n> moves on.
  t.feed('Go[[Be<C-x><C-o><Esc>')
  t.eq(vim.api.nvim_get_current_line(), '[[Beans', 'completed with <C-x><C-o>')
  t.feed('oTo [[')
  t.ok(vim.api.nvim_get_current_line():match('^To %[%[%S'), 'typing [[ completed a name: ' .. vim.api.nvim_get_current_line())
  t.feed('<Esc>')
  -- Not after [[: no completion.
  vim.api.nvim_buf_set_lines(0, -1, -1, false, { 'plain [[done]] text' })
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_buf_line_count(0), 18 })
  t.eq(complete(1, ''), -3, 'findstart outside a link')
  -- :Heph open completes titles too.
  t.ok(vim.tbl_contains(vim.fn.getcompletion('Heph open Gar', 'cmdline'), 'Garden'), ':Heph open completion')
end

function cases.follow_links(t)
  heph.open('Links')
  local links = vim.api.nvim_get_current_buf()
  vim.api.nvim_win_set_cursor(0, { 1, 8 }) -- on [[Beans]]
  t.feed('gf')
  t.wait_for(function()
    return vim.api.nvim_buf_get_name(0) == 'heph://' .. t.args.beans
  end, 'gf to open Beans')
  t.eq(t.lines(), { 'Climbing beans.' }, 'the target note')
  vim.api.nvim_set_current_buf(links)
  vim.api.nvim_win_set_cursor(0, { 1, 9 })
  t.feed('<CR>')
  t.wait_for(function()
    return vim.api.nvim_buf_get_name(0) == 'heph://' .. t.args.beans
  end, '<CR> to open Beans')
  -- A link to no note: asked first; declining creates nothing.
  vim.api.nvim_set_current_buf(links)
  local col = vim.api.nvim_get_current_line():find('Missing', 1, true)
  vim.api.nvim_win_set_cursor(0, { 1, col })
  local asked = answer_select('Cancel')
  t.feed('gf')
  t.wait_for(function()
    return #asked == 1
  end, 'the question')
  t.eq(asked[1], 'No note is named "Missing note". Create "Missing note"?', 'the question')
  t.eq(vim.api.nvim_get_current_buf(), links, 'still on the linking note')
  asked = answer_select('Create it')
  t.feed('gf')
  t.wait_for(function()
    return vim.b.heph_title == 'Missing note'
  end, 'the new note')
  t.eq(t.lines(), { '' }, 'an empty note')
  -- <CR> off a link moves down a line, as without the plugin.
  vim.api.nvim_set_current_buf(links)
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  t.feed('<CR>')
  t.eq(vim.api.nvim_win_get_cursor(0)[1], 2, '<CR> off a link')
end

function cases.tasks(t)
  vim.cmd('Heph next')
  t.eq(vim.api.nvim_buf_get_name(0):match('heph:next$'), 'heph:next', 'list buffer')
  local lines = t.lines()
  local rent = find_line(lines, 'Pay rent')
  local water = find_line(lines, 'Water plants')
  t.ok(rent and water, 'both tasks listed: ' .. table.concat(lines, '\n'))
  t.ok(rent < water, 'red before orange')
  t.ok(lines[rent]:match('^red%s+Pay rent'), 'attention and title: ' .. lines[rent])
  t.ok(lines[water]:find('late on 2099-01-01', 1, true), 'dates: ' .. lines[water])
  -- x marks done.
  vim.api.nvim_win_set_cursor(0, { water, 0 })
  t.feed('x')
  t.eq(#notices_matching(t, '"Water plants" done'), 1, 'done message')
  t.eq(find_line(t.lines(), 'Water plants'), nil, 'gone from the list')
  -- d sets the do-date (words as in the CLI).
  rent = find_line(t.lines(), 'Pay rent')
  vim.api.nvim_win_set_cursor(0, { rent, 0 })
  answer_input('2099-03-04')
  t.feed('d')
  t.eq(heph.call('task.get', { id = t.args.rent }).do_date, '2099-03-04', 'do date')
  t.eq(find_line(t.lines(), 'Pay rent'), nil, 'a task for later leaves the list')
  -- s skips a recurring task to its next date.
  local stretch = find_line(t.lines(), 'Stretch')
  vim.api.nvim_win_set_cursor(0, { stretch, 0 })
  t.feed('s')
  t.eq(#notices_matching(t, '"Stretch" skipped to '), 1, 'skip message')
  -- <CR> opens the task's note.
  local call_mom = find_line(t.lines(), 'Call mom')
  vim.api.nvim_win_set_cursor(0, { call_mom, 0 })
  t.feed('<CR>')
  t.eq(vim.api.nvim_buf_get_name(0), 'heph://' .. t.args.mom_context, "the task's note")
  -- :Heph add, and the list follows.
  vim.cmd('Heph next')
  vim.cmd('Heph add Buy stamps !orange')
  t.eq(#notices_matching(t, 'added "Buy stamps"'), 1, 'add message')
  t.ok(find_line(t.lines(), 'Buy stamps'), 'the new task listed')
  -- A change made elsewhere shows up in the open list.
  local other = t.other_client()
  other:call('add', { text = 'Made elsewhere !red' })
  t.wait_for(function()
    return find_line(t.lines(), 'Made elsewhere') ~= nil
  end, 'the list to follow a change made elsewhere')
  other:close()
end

function cases.search_and_backlinks(t)
  vim.cmd('Heph search climbing')
  local qf = vim.fn.getqflist({ title = 1, items = 1 })
  t.eq(qf.title, 'heph search: climbing', 'title')
  t.eq(#qf.items, 1, 'one result')
  t.eq(vim.api.nvim_buf_get_name(qf.items[1].bufnr), 'heph://' .. t.args.beans, 'result note')
  t.eq(qf.items[1].text, 'Beans: Climbing beans.', 'result text')
  vim.cmd('cfirst')
  t.eq(vim.api.nvim_buf_get_name(0), 'heph://' .. t.args.beans, ':cfirst opens the note')
  vim.cmd('Heph backlinks')
  qf = vim.fn.getqflist({ title = 1, items = 1 })
  t.eq(qf.title, 'heph backlinks: Beans', 'backlinks title')
  t.eq(#qf.items, 1, 'one backlink')
  t.eq(vim.api.nvim_buf_get_name(qf.items[1].bufnr), 'heph://' .. t.args.links, 'linking note')
  t.eq({ qf.items[1].lnum, qf.items[1].col }, { 1, 5 }, 'at the link')
  vim.cmd('Heph search nothing-has-this')
  t.eq(#notices_matching(t, 'nothing matches "nothing%-has%-this"'), 1, 'empty search message')
end

function cases.conflicts(t)
  heph.status()
  t.wait_for(function()
    return heph.status() == 'heph: local · 1 conflict'
  end, 'the status line to count the conflict')
  vim.cmd('Heph conflicts')
  local lines = t.lines()
  local head = find_line(lines, '1  "Trip to ')
  t.ok(find_line(lines, '· title'), 'the conflict: ' .. table.concat(lines, '\n'))
  t.ok(head, 'its values')
  vim.api.nvim_win_set_cursor(0, { head, 0 })
  local kept = lines[head]:match('"(Trip to %a+)"')
  t.feed('<CR>')
  t.eq(heph.call('conflicts.list', {}).conflicts, {}, 'no conflict left')
  t.eq(heph.call('node.get', { id = t.args.trip }).title, kept, 'the value kept')
  t.ok(find_line(t.lines(), 'No conflicts.'), 'the list says so')
  t.wait_for(function()
    return heph.status() == 'heph: local'
  end, 'the status line to follow')
end

function cases.reconnect(t)
  heph.open('Restart me')
  t.eq(t.lines(), { 'before' }, 'lines')
  t.step('restart_daemon')
  t.wait_for(function()
    return t.lines()[2] == 'written after the restart'
  end, 'the edit made after the daemon restarted', 15000)
  t.eq(vim.bo.modified, false, "'modified'")
  t.feed('Goand from the editor<Esc>')
  vim.cmd('write')
  t.eq(
    heph.call('node.get', { id = vim.b.heph_id }).body,
    'before\nwritten after the restart\nand from the editor\n',
    'saved on the new connection'
  )
  t.eq(#notices_matching(t, 'lost the connection to hephd'), 1, 'one notice of the outage')
  t.eq(#notices_matching(t, 'reconnected to hephd'), 1, 'one notice of the reconnection')
end

function cases.missing_daemon(t)
  -- Neovim's own vim.notify: what a user without a notification plugin sees.
  vim.notify = t.builtin_notify
  vim.cmd('messages clear')
  vim.cmd('Heph open Garden')
  vim.cmd('Heph next')
  -- From a mapping that runs the command from Lua, too.
  vim.keymap.set('n', 'Q', function()
    vim.cmd('Heph search beans')
  end)
  t.feed('Q')
  vim.cmd('edit heph://01ARZ3NDEKTSV4RRFFQ69G5FAV')
  vim.cmd('write')
  local missing = 'hephd is not running (no socket at ' .. t.args.socket .. '); start it with `heph daemon start`'
  local id = '01ARZ3NDEKTSV4RRFFQ69G5FAV'
  local messages = vim.split(vim.trim(vim.fn.execute('messages')), '\n')
  t.eq(messages, {
    'heph: ' .. missing,
    'heph: ' .. missing,
    'heph: ' .. missing,
    'heph: cannot open ' .. id .. ': ' .. missing,
    'heph: ' .. id .. ' was not loaded from hephd (' .. missing .. '); :e to load it before saving',
  }, 'one message per command, nothing else')
  heph.status()
  t.wait_for(function()
    return heph.status() == 'heph: not running'
  end, 'the statusline to say so')
end

function cases.timeout(t)
  -- A server that accepts and never answers.
  local path = t.args.dir .. '/silent.sock'
  local server = vim.loop.new_pipe(false)
  server:bind(path)
  local conns = {}
  server:listen(8, function()
    local c = vim.loop.new_pipe(false)
    server:accept(c)
    c:read_start(function() end)
    conns[#conns + 1] = c
  end)
  heph.setup({ socket = path, timeout_ms = 200 })
  local ok, err = pcall(heph.call, 'node.get', { id = 'x' })
  t.eq(ok, false, 'the call fails')
  t.eq(err.code, 'timeout', 'code')
  t.eq(err.message, 'node.get: hephd did not answer within 0.2 s; is it busy or stuck? `heph status` checks it', 'message')
  vim.cmd('Heph add Something')
  t.eq(t.notices()[#t.notices()].msg, 'heph: add: hephd did not answer within 0.2 s (the change may still be made); is it busy or stuck? `heph status` checks it', 'a change says it may still be made')
  server:close()
end

function cases.pipelining(t)
  local session = require('heph.session')
  local c = session.client()
  heph.call('status', {})
  local answered = 0
  local ids = {}
  for i = 1, 20 do
    ids[i] = c:request('node.get', { id = t.args.garden }, function(err)
      t.ok(err == nil, 'no error')
      answered = answered + 1
    end)
  end
  -- All twenty were written before any reply was read.
  local sent = 0
  for _, id in ipairs(ids) do
    if c.pending[id] and c.pending[id].sent then
      sent = sent + 1
    end
  end
  t.eq(sent, 20, 'requests on the wire at once')
  t.wait_for(function()
    return answered == 20
  end, 'twenty replies')
  local results = session.call_all({ { 'node.get', { id = t.args.garden } }, { 'node.get', { id = t.args.beans } } })
  t.eq({ results[1][2].title, results[2][2].title }, { 'Garden', 'Beans' }, 'replies matched to requests')
  t.eq(c.connections, 1, 'one connection')
end

function cases.commands(t)
  vim.cmd('Heph new Shopping list')
  t.eq(vim.b.heph_title, 'Shopping list', 'new note')
  t.feed('ieggs<Esc>')
  vim.cmd('write')
  t.eq(heph.call('node.get', { id = vim.b.heph_id }).body, 'eggs\n', 'saved')
  vim.cmd('Heph journal 2030-01-02')
  t.eq(vim.api.nvim_buf_get_name(0), 'heph://journal:2030-01-02', 'a journal')
  vim.cmd('Heph journal')
  t.eq(vim.api.nvim_buf_get_name(0), 'heph://journal:' .. os.date('%Y-%m-%d'), "today's journal")
  vim.cmd('Heph journal someday')
  t.eq(t.notices()[#t.notices()].msg, 'heph: not a date: someday (YYYY-MM-DD, today, tomorrow, +3d, +2w, or none)', 'bad date')
  -- A name that is not there: offered, then made.
  answer_select('Create it')
  vim.cmd('Heph open Brand new idea')
  t.eq(vim.b.heph_title, 'Brand new idea', 'created from :Heph open')
  vim.cmd('Heph frobnicate')
  t.ok(t.notices()[#t.notices()].msg:find('no subcommand frobnicate', 1, true), 'unknown subcommand')
  t.eq(vim.fn.getcompletion('Heph ne', 'cmdline'), { 'new', 'next' }, 'subcommand completion')
end

function cases.status_and_health(t)
  heph.status()
  t.wait_for(function()
    return heph.status() == t.args.status
  end, 'the status line ' .. t.args.status .. ' (it says ' .. heph.status() .. ')')
  t.eq(heph.status_info().verdict, 'not syncing: no hub configured', 'verdict')
  t.eq(heph.status_info().state, 'no_hub', 'state')
  vim.cmd('checkhealth heph')
  local text = table.concat(t.lines(), '\n')
  t.ok(text:find('socket ' .. t.args.socket .. ' (from $HEPH_SOCKET)', 1, true), 'socket: ' .. text)
  t.ok(text:find('hephd 0%.%d+%.%d+, local mode, sync protocol %d+'), 'daemon: ' .. text)
  t.ok(text:find('serves every method the plugin uses', 1, true), 'methods: ' .. text)
  t.ok(text:find('events: subscribed', 1, true), 'events: ' .. text)
  t.ok(not text:find('ERROR'), 'no error: ' .. text)
end

function cases.socket_paths(t)
  local paths = require('heph.paths')
  local names = { 'HOME', 'HEPH_SOCKET', 'HEPH_CONFIG', 'XDG_RUNTIME_DIR', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME' }
  vim.cmd('cd ' .. vim.fn.fnameescape(t.args.dir))
  for i, setup in ipairs(t.args.setups) do
    for _, name in ipairs(names) do
      vim.env[name] = setup.env[name]
    end
    local path, source = paths.socket(nil)
    t.eq(path, setup.want, 'setup ' .. i .. ' ' .. vim.inspect(setup.env) .. ' (from ' .. tostring(source) .. ')')
  end
end

function cases.help(t)
  -- A copy of the plugin's doc folder, so :helptags writes its tags file there, not in the repo.
  vim.opt.runtimepath:append(t.args.docroot)
  vim.cmd('helptags ' .. vim.fn.fnameescape(t.args.docroot .. '/doc'))
  vim.cmd('help heph')
  t.eq(vim.bo.filetype, 'help', 'a help buffer')
  t.ok(vim.api.nvim_buf_get_name(0):match('/doc/heph%.txt$'), 'heph.txt: ' .. vim.api.nvim_buf_get_name(0))
  t.ok(vim.api.nvim_get_current_line():find('*heph*', 1, true), 'at the heph tag')
  local text = table.concat(t.lines(), '\n')
  t.ok(text:find('Neovim 0.7 or later', 1, true), 'the minimum Neovim')
  -- Every subcommand has its tag, every option its line.
  for name in pairs(require('heph.commands').subcommands) do
    local ok, err = pcall(vim.cmd, 'help :Heph-' .. name)
    t.ok(ok, ':help :Heph-' .. name .. ' (' .. tostring(err) .. ')')
  end
  for name in pairs(require('heph.config').defaults) do
    t.ok(text:find('\n\t' .. name .. '\t', 1, true) or text:find('\n\t' .. name .. ' ', 1, true), 'option ' .. name .. ' documented')
  end
  for _, tag in ipairs({ 'heph-tasks', 'heph-links', 'heph-buffers', 'heph-health', 'heph-statusline' }) do
    t.ok(pcall(vim.cmd, 'help ' .. tag), ':help ' .. tag)
  end
end

return cases

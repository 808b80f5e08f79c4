-- heph.nvim: notes and tasks from hephd, the heph daemon. Loads nothing until used: the :Heph
-- command and the heph:// buffers pull in the modules they need. See :help heph.

if vim.g.loaded_heph then
  return
end
vim.g.loaded_heph = true

if vim.fn.has('nvim-0.7') ~= 1 then
  vim.api.nvim_echo({ { 'heph.nvim needs Neovim 0.7 or later', 'ErrorMsg' } }, true, {})
  return
end

vim.api.nvim_create_user_command('Heph', function(opts)
  require('heph.commands').run(opts)
end, {
  nargs = '*',
  complete = function(arglead, cmdline)
    return require('heph.commands').complete(arglead, cmdline)
  end,
  desc = 'heph: notes and tasks (:help heph)',
})

local group = vim.api.nvim_create_augroup('heph', { clear = true })

vim.api.nvim_create_autocmd('BufReadCmd', {
  group = group,
  pattern = 'heph://*',
  callback = function(args)
    require('heph.buffer').read(args.buf)
  end,
  desc = 'heph: load a note from hephd',
})

vim.api.nvim_create_autocmd('BufWriteCmd', {
  group = group,
  pattern = 'heph://*',
  callback = function(args)
    require('heph.buffer').write(args.buf, vim.v.cmdbang == 1)
  end,
  desc = 'heph: save a note to hephd (merged with what synced in)',
})

vim.api.nvim_create_autocmd('BufWriteCmd', {
  group = group,
  pattern = 'heph-resolve://*',
  callback = function(args)
    require('heph.conflicts').write(args.buf)
  end,
  desc = 'heph: keep this value for a conflict',
})

vim.api.nvim_create_autocmd({ 'BufUnload', 'BufWipeout' }, {
  group = group,
  pattern = 'heph://*',
  callback = function(args)
    require('heph.buffer').forget(args.buf)
  end,
})

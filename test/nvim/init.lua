-- The tests' init file: what a plugin manager does, the plugin root on 'runtimepath' (its
-- plugin/heph.lua then loads as Neovim starts), and nothing else.
vim.opt.runtimepath:prepend(vim.env.HEPH_NVIM_PLUGIN)

-- The plugin's options (require('heph').setup{...}); every one has a default, so setup is
-- optional.

local M = {}

M.defaults = {
  -- hephd's socket: a path, or a function returning one. Default: the heph CLI's rules
  -- ($HEPH_SOCKET, the config file, $XDG_RUNTIME_DIR/heph/hephd.sock, ...).
  socket = nil,
  -- How long any call to hephd may take before it fails with a message.
  timeout_ms = 5000,
  -- In heph buffers, typing [[ opens completion of titles and aliases.
  complete_on_brackets = true,
  -- In heph buffers, gf and <CR> on a [[link]] open its note.
  link_mappings = true,
  -- Called with (method, err, result) after every reply (for debugging and tests).
  trace = nil,
}

M.options = vim.deepcopy(M.defaults)

function M.setup(opts)
  opts = opts or {}
  vim.validate({
    socket = { opts.socket, { 'string', 'function' }, true },
    timeout_ms = { opts.timeout_ms, 'number', true },
    complete_on_brackets = { opts.complete_on_brackets, 'boolean', true },
    link_mappings = { opts.link_mappings, 'boolean', true },
    trace = { opts.trace, 'function', true },
  })
  for k in pairs(opts) do
    if M.defaults[k] == nil and k ~= 'socket' and k ~= 'trace' then
      error('heph.setup: unknown option ' .. k, 2)
    end
  end
  M.options = vim.tbl_extend('force', vim.deepcopy(M.defaults), opts)
end

function M.get()
  return M.options
end

return M

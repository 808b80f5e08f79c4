-- Where hephd's socket is, by the rules the heph CLI follows (`heph socket-path` prints the
-- same): the `socket` option, then $HEPH_SOCKET, then the socket `heph daemon start --socket`
-- kept ($XDG_STATE_HOME/heph/hephd-options.json), then "socket" in the config file
-- ($HEPH_CONFIG, else $XDG_CONFIG_HOME/heph/config.json), then
-- $XDG_RUNTIME_DIR/heph/hephd.sock, else $XDG_DATA_HOME/heph/hephd.sock (~/.local/share when
-- unset). Relative paths are taken from the current directory; an empty variable is unset.

local M = {}

local function env(name)
  local v = vim.env[name]
  if v == nil or v == '' then
    return nil
  end
  return v
end

local function home()
  return env('HOME') or vim.loop.os_homedir()
end

local function join(...)
  return table.concat({ ... }, '/')
end

local function absolute(p)
  return vim.fn.fnamemodify(p, ':p')
end

function M.config_file()
  local explicit = env('HEPH_CONFIG')
  if explicit then
    return absolute(explicit)
  end
  local base = env('XDG_CONFIG_HOME') or join(home(), '.config')
  return join(base, 'heph', 'config.json')
end

-- A missing file is no file (as for the CLI, even when $HEPH_CONFIG names it).
local function read_config(path)
  local f = io.open(path, 'r')
  if not f then
    return {}
  end
  local text = f:read('*a')
  f:close()
  local ok, data = pcall(vim.json.decode, text)
  if not ok or type(data) ~= 'table' then
    return nil, 'config file ' .. path .. ' is not valid JSON'
  end
  if data.socket ~= nil and (type(data.socket) ~= 'string' or data.socket == '') then
    return nil, 'config file ' .. path .. ': "socket" must be a non-empty string'
  end
  return data
end

--- The socket `heph daemon start --socket PATH` kept, if any. The file is the CLI's: anything
--- unexpected in it is ignored, as the CLI ignores it.
function M.kept_socket()
  local base = env('XDG_STATE_HOME') or join(home(), '.local', 'state')
  local file = join(base, 'heph', 'hephd-options.json')
  local f = io.open(file, 'r')
  if not f then
    return nil
  end
  local text = f:read('*a')
  f:close()
  local ok, data = pcall(vim.json.decode, text)
  if ok and type(data) == 'table' and type(data.socket) == 'string' and data.socket ~= '' then
    return data.socket, file
  end
  return nil
end

function M.default_socket()
  local run = env('XDG_RUNTIME_DIR')
  if run then
    return join(run, 'heph', 'hephd.sock'), '$XDG_RUNTIME_DIR'
  end
  local data = env('XDG_DATA_HOME') or join(home(), '.local', 'share')
  return join(data, 'heph', 'hephd.sock'), env('XDG_DATA_HOME') and '$XDG_DATA_HOME' or '~/.local/share'
end

--- The socket path and where it came from; nil and a message when the config file is broken.
function M.socket(option)
  if type(option) == 'function' then
    option = option()
  end
  if type(option) == 'string' and option ~= '' then
    if option:sub(1, 2) == '~/' then
      option = home() .. option:sub(2)
    end
    return absolute(option), 'the socket option'
  end
  local from_env = env('HEPH_SOCKET')
  if from_env then
    return absolute(from_env), '$HEPH_SOCKET'
  end
  local kept, kept_in = M.kept_socket()
  if kept then
    return kept, 'the daemon options in ' .. kept_in
  end
  local file = M.config_file()
  local config, err = read_config(file)
  if not config then
    return nil, err
  end
  if config.socket then
    return absolute(config.socket), '"socket" in ' .. file
  end
  return M.default_socket()
end

return M

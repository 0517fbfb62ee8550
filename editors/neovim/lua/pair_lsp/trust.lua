--- The project file's trust, through Neovim's own trust database (|vim.secure.read()|): the user
--- is asked once per file content and the answer is remembered (`:trust` changes it later).
--- The server obeys settings that run programs or send code and keys elsewhere (apiKeyCommand,
--- baseUrl, ...) from the project file only when `trusted` is true.
local M = {}

--- A pyproject.toml that has a [tool.pair-lsp] table (or a dotted key under tool).
---@param path string
---@return boolean
local function declares_pair_lsp(path)
  local fh = io.open(path, 'r')
  if not fh then
    return false
  end
  local in_tool = false
  local found = false
  for line in fh:lines() do
    local header = line:match('^%s*%[%[?([^%]]*)%]')
    if header then
      header = header:gsub('[%s"\']', '')
      if header == 'tool.pair-lsp' or vim.startswith(header, 'tool.pair-lsp.') then
        found = true
        break
      end
      in_tool = header == 'tool'
    elseif
      line:match('^%s*tool%s*%.%s*["\']?pair%-lsp["\']?%s*[%.=]')
      or (in_tool and line:match('^%s*["\']?pair%-lsp["\']?%s*[%.=]'))
    then
      found = true
      break
    end
  end
  fh:close()
  return found
end

--- The project file the server reads: the nearest `.pair-lsp.toml`, or `pyproject.toml` with
--- [tool.pair-lsp], in `start` or above it (the same search as the server's).
---@param start string a directory (or a file: its directory is used)
---@return string|nil
function M.project_file(start)
  local dir = vim.fs.normalize(start)
  if vim.fn.isdirectory(dir) == 0 then
    dir = vim.fs.dirname(dir)
  end
  while dir and dir ~= '' do
    local candidate = dir .. '/.pair-lsp.toml'
    if vim.uv.fs_stat(candidate) then
      return candidate
    end
    local pyproject = dir .. '/pyproject.toml'
    if vim.uv.fs_stat(pyproject) and declares_pair_lsp(pyproject) then
      return pyproject
    end
    local parent = vim.fs.dirname(dir)
    if parent == dir then
      break
    end
    dir = parent
  end
  return nil
end

--- True when there is no project file (nothing to gate) or the user trusts it.
---@param start string|nil the workspace root, or the file's folder without one
---@return boolean trusted, string|nil project_file
function M.check(start)
  if not start or start == '' then
    return true, nil
  end
  local file = M.project_file(start)
  if not file then
    return true, nil
  end
  local ok, contents = pcall(vim.secure.read, file)
  return ok and contents ~= nil, file
end

return M

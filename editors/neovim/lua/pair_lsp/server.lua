--- Reaching the pair-lsp client of a buffer: wait while it starts, run its commands.
local ui = require('pair_lsp.ui')

local M = {}

--- How long a :Pair command waits for the server to attach while it starts (ms).
M.attach_timeout = 8000

local function error_message(text)
  if not vim.startswith(text, 'Pair') then
    text = 'Pair: ' .. text
  end
  ui.notify(text, vim.log.levels.ERROR)
end
M.error = error_message

---@param bufnr integer
---@return vim.lsp.Client|nil
function M.client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = 'pair_lsp' })[1]
end

--- Call `fn(client)` with the buffer's client; while the server starts, wait for it to attach.
---@param bufnr integer
---@param fn fun(client: vim.lsp.Client)
function M.with_client(bufnr, fn)
  local client = M.client(bufnr)
  if client then
    fn(client)
    return
  end
  if vim.bo[bufnr].buftype ~= '' or vim.b[bufnr].pair_lsp_transcript then
    error_message('pair-lsp works on file buffers only')
    return
  end
  if not vim.lsp.is_enabled('pair_lsp') then
    error_message("pair-lsp is not enabled: add vim.lsp.enable('pair_lsp') to your config")
    return
  end
  local done = false
  local id = vim.api.nvim_create_autocmd('LspAttach', {
    buffer = bufnr,
    callback = function(ev)
      local attached = vim.lsp.get_client_by_id(ev.data.client_id)
      if done or not attached or attached.name ~= 'pair_lsp' then
        return
      end
      done = true
      vim.schedule(function()
        fn(attached)
      end)
      return true -- delete this autocmd
    end,
  })
  vim.defer_fn(function()
    if not done then
      done = true
      pcall(vim.api.nvim_del_autocmd, id)
      error_message(
        string.format(
          'pair-lsp did not attach to this buffer within %d s (see :checkhealth pair_lsp)',
          M.attach_timeout / 1000
        )
      )
    end
  end, M.attach_timeout)
end

--- Run a server command; `on_result(result, client)` gets its result, errors are shown once.
---@param bufnr integer
---@param command string
---@param argument table|nil
---@param on_result? fun(result: any, client: vim.lsp.Client)
---@param on_error? fun() after the error was shown
function M.execute(bufnr, command, argument, on_result, on_error)
  M.with_client(bufnr, function(client)
    M.request(client, bufnr, command, argument, on_result, on_error)
  end)
end

--- Like execute, with a known client.
---@param client vim.lsp.Client
---@param bufnr integer
---@param command string
---@param argument table|nil
---@param on_result? fun(result: any, client: vim.lsp.Client)
---@param on_error? fun() after the error was shown
---@return boolean ok, integer|nil request_id (for client:cancel_request)
function M.request(client, bufnr, command, argument, on_result, on_error)
  return client:request('workspace/executeCommand', {
    command = command,
    arguments = argument and { argument } or {},
  }, function(err, result)
    if err then
      if on_error then
        on_error()
      end
      error_message(err.message or tostring(err))
      return
    end
    if on_result then
      on_result(result, client)
    end
  end, bufnr)
end

return M

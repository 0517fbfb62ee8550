--- The vim.lsp.Config of pair_lsp (returned by lsp/pair_lsp.lua).
local config = require('pair_lsp.config')

local M = {}

M.root_markers = { '.pair-lsp.toml', 'pyproject.toml', '.git' }

--- A transcript the server wrote (`<dir>/transcripts/<stamp>-<id>.md`), or one being opened.
---@param bufnr integer
---@return boolean
local function is_transcript(bufnr)
  if require('pair_lsp.handlers').opening_transcript or vim.b[bufnr].pair_lsp_transcript then
    return true
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  return name:match('/transcripts/[^/]+%.md$') ~= nil and vim.fs.basename(name):match('^%d') ~= nil
end

--- Start (or reuse) the server for file buffers, never for the plugin's own transcripts.
---@param bufnr integer
---@param on_dir fun(root_dir?: string)
function M.root_dir(bufnr, on_dir)
  if vim.bo[bufnr].buftype ~= '' or is_transcript(bufnr) then
    return
  end
  on_dir(vim.fs.root(bufnr, M.root_markers))
end

--- initializationOptions: the settings, plus what this client does itself and the trust of the
--- project file (asked once through vim.secure.read).
---@param params lsp.InitializeParams
---@param client_config vim.lsp.ClientConfig
function M.before_init(params, client_config)
  local start = client_config.root_dir
  if not start then -- a file outside any project: the server looks next to the file
    local name = vim.api.nvim_buf_get_name(0)
    start = name ~= '' and vim.fs.dirname(name) or nil
  end
  local trusted = require('pair_lsp.trust').check(start)
  local opts = vim.deepcopy(config.settings())
  if vim.tbl_isempty(opts) then
    opts = {}
  end
  opts.trusted = trusted
  opts.resultNotifications = true
  opts.clientCommands = vim.tbl_keys(require('pair_lsp.client_commands').table)
  table.sort(opts.clientCommands)
  params.initializationOptions = opts
end

---@return vim.lsp.Config
function M.get()
  vim.api.nvim_create_autocmd('LspRequest', {
    group = vim.api.nvim_create_augroup('pair_lsp_wake', { clear = true }),
    callback = require('pair_lsp.handlers').wake_after_resolve,
  })
  vim.api.nvim_create_autocmd('LspRequest', {
    group = vim.api.nvim_create_augroup('pair_lsp_inline_diff_requests', { clear = true }),
    callback = function(ev)
      require('pair_lsp.inline_diff').on_lsp_request(ev)
    end,
  })
  return {
    cmd = config.cmd(),
    root_dir = M.root_dir,
    settings = { pair = config.settings() },
    before_init = M.before_init,
    handlers = require('pair_lsp.handlers').table,
    commands = require('pair_lsp.client_commands').table,
  }
end

return M

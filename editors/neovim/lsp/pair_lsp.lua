-- pair-lsp: a worker model writes the edit, a reviewer model reviews it.
-- `vim.lsp.enable('pair_lsp')` starts it for every filetype; options: vim.g.pair_lsp.
local config = require('pair_lsp.config')

---@type vim.lsp.Config
return {
  cmd = config.cmd(),
  root_markers = { '.pair-lsp.toml', 'pyproject.toml', '.git' },
  settings = { pair = config.settings() },
  init_options = config.settings(),
  handlers = {
    ['pair/status'] = function(_, result, ctx)
      require('pair_lsp.sessions').on_status(result, ctx)
    end,
  },
}

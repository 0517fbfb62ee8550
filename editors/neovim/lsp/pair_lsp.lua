-- pair-lsp: a worker model writes the edit, a reviewer model reviews it.
-- `vim.lsp.enable('pair_lsp')` starts it for every file buffer; options: vim.g.pair_lsp.
---@type vim.lsp.Config
return require('pair_lsp.lsp_config').get()

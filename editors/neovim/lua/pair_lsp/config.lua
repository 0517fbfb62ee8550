--- Options: vim.g.pair_lsp (or require('pair_lsp').setup{...}), with defaults.
local M = {}

---@class pair_lsp.Options
---@field cmd? string[] server command (default: `pair-lsp serve`, else `python3 -m pair_lsp serve`)
---@field settings? table the `pair` settings section (worker, reviewer, maxRounds, ...)
---@field progress? boolean|'echo'|'notify' compact progress while a session runs (default true:
--- a notification replaced in place when vim.notify supports `replace`, else the echo area);
--- false when fidget.nvim or mini.notify already shows LSP progress
---@field quickfix? 'open'|'fill'|false :Pair changes findings: fill the quickfix list and open it
--- (default), fill it only, or leave it alone
---@field inline_diff? boolean show a session's proposal in the buffer, hunk by hunk (default true)
---@field keys? false|{next_hunk?: string|false, prev_hunk?: string|false} buffer-local motions
--- while an inline diff is shown (default `]h` / `[h`; never over a key already mapped)

---@return pair_lsp.Options
function M.options()
  local opts = vim.g.pair_lsp
  if type(opts) ~= 'table' then
    opts = {}
  end
  return opts
end

---@return string[]
function M.cmd()
  local cmd = M.options().cmd
  if type(cmd) == 'table' and #cmd > 0 then
    return cmd
  end
  if vim.fn.executable('pair-lsp') == 1 then
    return { 'pair-lsp', 'serve' }
  end
  return { 'python3', '-m', 'pair_lsp', 'serve' }
end

---@return table
function M.settings()
  local settings = M.options().settings
  return type(settings) == 'table' and settings or vim.empty_dict()
end

--- How progress is shown: 'auto' (default), 'echo', 'notify', or false (off).
---@return 'auto'|'echo'|'notify'|false
function M.progress()
  local p = M.options().progress
  if p == false or p == 'echo' or p == 'notify' then
    return p
  end
  return 'auto'
end

return M

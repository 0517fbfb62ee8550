--- Sessions the server reported (pair/status), per buffer, for :Pair apply/cancel/status.
local M = {}

---@type table<string, table> uri -> latest status
M.by_uri = {}

function M.on_status(result, _)
  if type(result) ~= 'table' or not result.uri then
    return
  end
  M.by_uri[result.uri] = result
  vim.api.nvim_exec_autocmds('User', { pattern = 'PairStatus', data = result, modeline = false })
end

---@param bufnr integer
---@return table|nil
function M.latest(bufnr)
  return M.by_uri[vim.uri_from_bufnr(bufnr)]
end

--- A statusline component: `Pair · Round 2/3 · reviewer · 1.4k tok` while a session runs.
---@return string
function M.statusline()
  local s = M.latest(vim.api.nvim_get_current_buf())
  if not s or s.status ~= 'running' then
    return ''
  end
  local tokens = s.tokens >= 1000 and string.format('%.1fk', s.tokens / 1000) or tostring(s.tokens)
  return string.format('Pair · Round %d/%d · %s · %s tok', math.max(s.round, 1), s.maxRounds, s.role, tokens)
end

return M

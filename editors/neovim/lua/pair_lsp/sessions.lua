--- Sessions the server reported: pair/status while they run, pair/result when they end.
local ui = require('pair_lsp.ui')

local M = {}

---@type table<string, table> uri -> latest pair/status
M.by_uri = {}
---@type table<string, table> sessionId -> its pair/result
M.results = {}
---@type table<string, table> uri -> latest pair/result
M.result_by_uri = {}
---@type table|nil the latest pair/result of any buffer
M.last_result = nil
---@type table<string, table> sessionId -> its latest pair/status
M.by_id = {}
---@type table<string, integer> sessionId -> the id of the client that runs it
M.client_ids = {}

local LEVELS = { info = vim.log.levels.INFO, warning = vim.log.levels.WARN, error = vim.log.levels.ERROR }
M.ACTIONS_HINT = ' (:Pair actions)'

function M.on_status(result, ctx)
  if type(result) ~= 'table' or not result.uri then
    return
  end
  M.by_uri[result.uri] = result
  if result.sessionId then
    M.by_id[result.sessionId] = result
    M.client_ids[result.sessionId] = ctx and ctx.client_id or M.client_ids[result.sessionId]
  end
  if result.sessionId then
    ui.rename_progress(M.starting_key(result.uri), result.sessionId)
  end
  if result.status == 'running' and type(result.message) == 'string' and result.sessionId then
    ui.progress(result.sessionId, result.message)
  end
  vim.api.nvim_exec_autocmds('User', { pattern = 'PairStatus', data = result, modeline = false })
end

--- pair/result: exactly one message per session end, at the server's level.
function M.on_result(result, ctx)
  if type(result) ~= 'table' or not result.sessionId then
    return
  end
  M.results[result.sessionId] = result
  M.client_ids[result.sessionId] = ctx and ctx.client_id or M.client_ids[result.sessionId]
  if result.uri then
    M.result_by_uri[result.uri] = result
  end
  M.last_result = result
  local text = type(result.message) == 'string' and result.message or ('Pair: ' .. tostring(result.status))
  local has_actions = type(result.actions) == 'table' and #result.actions > 0
  ui.rename_progress(M.starting_key(result.uri or ''), result.sessionId)
  local replace = ui.end_progress(result.sessionId)
  local level = LEVELS[result.level] or vim.log.levels.INFO
  if ui.builtin_notifier() then
    local width = math.max(vim.v.echospace, 20)
    local hint = has_actions and M.ACTIONS_HINT or ''
    ui.notify(ui.fit(text, width - vim.fn.strdisplaywidth(hint)) .. hint, level)
  else
    ui.notify(text .. (has_actions and M.ACTIONS_HINT or ''), level, replace, 'pair-lsp-' .. result.sessionId)
  end
  vim.api.nvim_exec_autocmds('User', { pattern = 'PairResult', data = result, modeline = false })
end

--- The progress key of a session asked for but not reported yet (the server's first status
--- can take seconds: it loads the model SDKs on the first session).
---@param uri string
---@return string
function M.starting_key(uri)
  return 'starting:' .. uri
end

--- Show "Pair · starting…" at once for a session command on `bufnr`.
---@param bufnr integer
function M.starting(bufnr)
  ui.progress(M.starting_key(vim.uri_from_bufnr(bufnr)), 'Pair · starting…')
end

--- The command failed before its session started: forget its progress line.
---@param bufnr integer
function M.start_failed(bufnr)
  ui.end_progress(M.starting_key(vim.uri_from_bufnr(bufnr)))
end

---@param bufnr integer
---@return table|nil
function M.latest(bufnr)
  return M.by_uri[vim.uri_from_bufnr(bufnr)]
end

--- The latest result of this buffer, else the latest of any buffer.
---@param bufnr integer
---@return table|nil
function M.latest_result(bufnr)
  return M.result_by_uri[vim.uri_from_bufnr(bufnr)] or M.last_result
end

--- The session a command is about: the pair finding under the cursor's, else the buffer's latest.
---@param bufnr integer
---@return string|nil
function M.session_at(bufnr)
  if bufnr == vim.api.nvim_get_current_buf() then
    local lnum = vim.fn.line('.') - 1
    for _, d in ipairs(vim.diagnostic.get(bufnr, { lnum = lnum })) do
      local data = d.user_data and d.user_data.lsp and d.user_data.lsp.data
      if d.source == 'pair' and type(data) == 'table' and data.sessionId then
        return data.sessionId
      end
    end
  end
  local uri = vim.uri_from_bufnr(bufnr)
  local latest = M.by_uri[uri] or M.result_by_uri[uri]
  return latest and latest.sessionId or nil
end

--- A statusline component: `Pair · round 2/3 · reviewer · 1.4k tokens` while a session runs.
---@return string
function M.statusline()
  local s = M.latest(vim.api.nvim_get_current_buf())
  if not s or s.status ~= 'running' then
    return ''
  end
  if type(s.message) == 'string' then
    return s.message
  end
  local tokens = s.tokens >= 1000 and string.format('%.1fk', s.tokens / 1000) or tostring(s.tokens)
  return string.format('Pair · round %d/%d · %s · %s tokens', math.max(s.round, 1), s.maxRounds, s.role, tokens)
end

return M

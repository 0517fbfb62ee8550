--- :Pair steer {message}: a note from the user that a session's next worker turn (and that
--- round's reviewers) read; for an ended session, kept for its next :Pair continue.
local server = require('pair_lsp.server')
local sessions = require('pair_lsp.sessions')
local ui = require('pair_lsp.ui')

local M = {}

local function notify(msg, level)
  ui.notify('Pair: ' .. msg, level)
end

--- A session with a worker (a change review or a reviewer-only session has none).
---@param s table pair/status
---@return boolean
local function has_worker(s)
  return s.mode ~= 'review'
end

---@param s table pair/status
---@return boolean
local function is_running(s)
  return s.status == 'running' and not sessions.results[s.sessionId]
end

--- Running sessions with a worker, of `uri` (nil: of any buffer), oldest first.
---@param uri string|nil
---@return table[]
function M.running(uri)
  local out = {}
  for _, s in pairs(sessions.by_id) do
    if is_running(s) and has_worker(s) and (uri == nil or s.uri == uri) then
      out[#out + 1] = s
    end
  end
  table.sort(out, function(a, b)
    return a.sessionId < b.sessionId
  end)
  return out
end

---@param s table pair/status
---@return string
function M.describe(s)
  local name = s.uri and vim.fn.fnamemodify(vim.uri_to_fname(s.uri), ':~:.') or '?'
  return string.format(
    '%s · %s · round %s/%s · %s',
    name,
    s.sessionId:sub(1, 8),
    tostring(s.round or '?'),
    tostring(s.maxRounds or '?'),
    tostring(s.role or s.status)
  )
end

--- The session a command is about, given to `fn`: the plan buffer's; this buffer's running one
--- (asked with vim.ui.select when several run); else the session under the cursor's finding or
--- the buffer's latest; else the one running elsewhere (asked when several).
---@param bufnr integer
---@param fn fun(session_id: string)
function M.pick(bufnr, fn)
  if vim.b[bufnr].pair_lsp_plan then
    fn(vim.b[bufnr].pair_lsp_plan)
    return
  end
  local function choose(list)
    if #list == 1 then
      fn(list[1].sessionId)
      return true
    elseif #list > 1 then
      ui.select(list, { prompt = 'Pair: which session?', kind = 'pair_lsp', format_item = M.describe }, function(s)
        if s then
          fn(s.sessionId)
        end
      end)
      return true
    end
    return false
  end
  if choose(M.running(vim.uri_from_bufnr(bufnr))) then
    return
  end
  local id = sessions.session_at(bufnr)
  if id then
    fn(id)
    return
  end
  if not choose(M.running(nil)) then
    notify('no pair session to steer (:Pair selection, :Pair file)', vim.log.levels.WARN)
  end
end

--- The client that runs a session, and a buffer to send its requests with.
---@param session_id string
---@return vim.lsp.Client|nil, integer
function M.client_for(session_id)
  local client = vim.lsp.get_client_by_id(sessions.client_ids[session_id] or -1)
  local bufnr = vim.api.nvim_get_current_buf()
  if not client then
    client = server.client(bufnr) or vim.lsp.get_clients({ name = 'pair_lsp' })[1]
  end
  if client and not client.attached_buffers[bufnr] then
    bufnr = next(client.attached_buffers) or bufnr
  end
  return client, bufnr
end

--- :Pair steer {message}
---@param message string
function M.steer(message)
  message = vim.trim(message or '')
  if message == '' then
    notify('say what the worker should know: :Pair steer keep the public API', vim.log.levels.WARN)
    return
  end
  M.pick(vim.api.nvim_get_current_buf(), function(session_id)
    local client, bufnr = M.client_for(session_id)
    if not client then
      server.error('pair-lsp is not running')
      return
    end
    local s = sessions.by_id[session_id]
    local running = s ~= nil and is_running(s)
    server.request(client, bufnr, 'pair.steer', { sessionId = session_id, message = message }, function()
      if running then
        notify('noted: the next worker turn reads it.')
      else
        notify('noted for the next :Pair continue (the session has ended).')
      end
    end)
  end)
end

return M

--- Handlers for what the server sends this client (see lsp/pair_lsp.lua).
local sessions = require('pair_lsp.sessions')
local ui = require('pair_lsp.ui')

local M = {}

--- Set while the plugin opens a transcript, so the server does not attach to it.
M.opening_transcript = false

--- window/showMessageRequest with vim.ui.select, asked once the user is not typing (the default
--- handler's prompt would swallow keys typed in Insert mode). Runs in the RPC coroutine.
function M.show_message_request(_, params)
  local co, is_main = coroutine.running()
  local actions = params.actions or {}
  if not co or is_main or #actions == 0 then
    if params.message then
      ui.notify(params.message, params.type == 1 and vim.log.levels.ERROR or vim.log.levels.WARN)
    end
    return vim.NIL
  end
  ui.select(actions, {
    prompt = params.message,
    kind = 'pair_lsp',
    format_item = function(action)
      return action.title
    end,
  }, function(choice)
    vim.schedule(function()
      coroutine.resume(co, choice or vim.NIL)
    end)
    if choice then -- e.g. "Discard": an inline diff shown may be gone
      local inline_diff = require('pair_lsp.inline_diff')
      for bufnr in pairs(inline_diff.state) do
        inline_diff.schedule_refresh(bufnr)
      end
    end
  end)
  return coroutine.yield()
end

---@param path string
---@return integer|nil
local function window_showing(path)
  local buf = vim.fn.bufnr(path)
  if buf < 0 then
    return nil
  end
  local win = vim.fn.win_findbuf(buf)[1]
  return win
end

--- Open `path` in a split below (or focus the window that shows it); never replaces the window
--- the user works in, and the server does not attach to it.
---@param path string
function M.open_in_split(path)
  local win = window_showing(path)
  if win then
    vim.api.nvim_set_current_win(win)
    return
  end
  M.opening_transcript = true
  local ok, err = pcall(vim.cmd, 'belowright split ' .. vim.fn.fnameescape(path))
  M.opening_transcript = false
  if not ok then
    ui.notify('Pair: could not open ' .. path .. ': ' .. tostring(err), vim.log.levels.ERROR)
    return
  end
  vim.bo.bufhidden = 'wipe'
  vim.b.pair_lsp_transcript = true
end

--- window/showDocument: the server shows transcripts this way.
function M.show_document(_, params)
  if params.external then
    return vim.lsp.handlers['window/showDocument'](nil, params, {})
  end
  local path = vim.uri_to_fname(params.uri)
  M.open_in_split(path)
  return { success = true }
end

--- $/progress: Neovim's handler, then only the latest message per session is kept, so
--- vim.lsp.status() shows one entry per session (not a queue of stale ones).
function M.progress(err, params, ctx)
  local result = vim.lsp.handlers['$/progress'](err, params, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client and client.progress then
    local items, latest = {}, {}
    for item in client.progress do
      items[#items + 1] = item
      latest[item.token] = #items
    end
    for i, item in ipairs(items) do
      if latest[item.token] == i then
        client.progress:push(item)
      end
    end
  end
  return result
end

--- In Visual mode Neovim 0.11 runs scheduled callbacks (such as a code action's resolve reply,
--- after which the chosen action's command runs) only after the next key or 'updatetime':
--- "Pair on selection…" asked for its instruction ~4 s late and the keys typed meanwhile went to
--- Visual mode. A no-op key wakes it up once the reply can have arrived.
function M.wake_after_resolve(ev)
  local request = ev.data and ev.data.request
  if not request or request.type ~= 'pending' or request.method ~= 'codeAction/resolve' then
    return
  end
  local client = vim.lsp.get_client_by_id(ev.data.client_id)
  if not client or client.name ~= 'pair_lsp' or not vim.api.nvim_get_mode().mode:match('^[vVsS\22\19]') then
    return
  end
  local timer = assert(vim.uv.new_timer())
  local tries = 0
  timer:start(50, 50, function()
    tries = tries + 1
    if tries > 40 or not client.requests[ev.data.request_id] then
      timer:stop()
      timer:close()
    else
      vim.api.nvim_input('<Ignore>') -- api-fast: wakes the input loop; the key does nothing
    end
  end)
end

--- Close the current undo block of a buffer (setting 'undolevels' does, |undo-break|).
---@param bufnr integer
local function undo_break(bufnr)
  vim.api.nvim_buf_call(bufnr, function()
    vim.go.undolevels = vim.go.undolevels
  end)
end

--- The loaded buffers a WorkspaceEdit changes.
---@param edit table
---@return integer[]
local function edited_buffers(edit)
  local uris = {}
  for _, change in ipairs(edit.documentChanges or {}) do
    if change.textDocument then
      uris[#uris + 1] = change.textDocument.uri
    end
  end
  for uri in pairs(edit.changes or {}) do
    uris[#uris + 1] = uri
  end
  local out = {}
  for _, uri in ipairs(uris) do
    local bufnr = vim.uri_to_bufnr(uri)
    if vim.api.nvim_buf_is_loaded(bufnr) then
      out[#out + 1] = bufnr
    end
  end
  return out
end

--- workspace/applyEdit as Neovim's handler, but every edit is its own undo step (an accepted
--- hunk right after another would otherwise be undone together) and without the "Workspace
--- edit <label>" line (the plugin's own messages say what happened).
function M.apply_edit(_, params, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client or type(params) ~= 'table' or type(params.edit) ~= 'table' then
    return { applied = false, failureReason = 'no edit' }
  end
  local buffers = edited_buffers(params.edit)
  for _, bufnr in ipairs(buffers) do
    undo_break(bufnr)
  end
  local ok, err = pcall(vim.lsp.util.apply_workspace_edit, params.edit, client.offset_encoding)
  for _, bufnr in ipairs(buffers) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      undo_break(bufnr)
    end
  end
  return { applied = ok, failureReason = not ok and tostring(err) or nil }
end

local MESSAGE_LEVELS = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO }

--- window/showMessage: one line (Neovim's handler would prefix it and could ask for ENTER);
--- log-type messages stay in the server's log.
function M.show_message(_, params)
  local level = MESSAGE_LEVELS[params.type]
  if level and type(params.message) == 'string' then
    ui.notify(params.message, level)
  end
  return vim.NIL
end

M.table = {
  ['pair/status'] = function(_, result, ctx)
    sessions.on_status(result, ctx)
    if type(result) == 'table' then
      require('pair_lsp.inline_diff').on_status(result)
    end
  end,
  ['pair/result'] = function(_, result, ctx)
    sessions.on_result(result, ctx)
    if type(result) == 'table' and result.sessionId then
      require('pair_lsp.inline_diff').on_result(result, ctx.client_id)
    end
  end,
  ['pair/plan'] = function(err, result, ctx)
    require('pair_lsp.plan').on_plan(err, result, ctx)
  end,
  ['window/showMessage'] = M.show_message,
  ['window/showMessageRequest'] = M.show_message_request,
  ['window/showDocument'] = M.show_document,
  ['workspace/applyEdit'] = M.apply_edit,
  ['$/progress'] = M.progress,
}

return M

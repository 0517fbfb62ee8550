--- planApproval = "ask": the session waits after its plan. pair/plan opens the plan (a Markdown
--- file) in a split; the user may edit it; :Pair proceed sends the buffer's text as the plan,
--- :Pair cancel cancels the session.
local server = require('pair_lsp.server')
local ui = require('pair_lsp.ui')

local M = {}

---@class pair_lsp.WaitingPlan
---@field client_id integer
---@field path string

--- Sessions waiting for their plan: sessionId -> where it is.
---@type table<string, pair_lsp.WaitingPlan>
M.waiting = {}

M.HINT = 'Pair: the plan waits: edit it, then :Pair proceed or :Pair cancel'

local function notify(msg, level)
  ui.notify('Pair: ' .. msg, level)
end

--- The buffer holding the plan file, when loaded.
---@param path string
---@return integer|nil
local function plan_buffer(path)
  local want = vim.fs.normalize(vim.fn.fnamemodify(path, ':p'))
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.fs.normalize(vim.api.nvim_buf_get_name(bufnr)) == want then
      return bufnr
    end
  end
  return nil
end

--- Open (or focus) the plan of `session_id` in a split below; the server does not attach to it.
---@param session_id string
function M.open(session_id)
  local w = M.waiting[session_id]
  if not w then
    return
  end
  require('pair_lsp.handlers').open_in_split(w.path)
  local bufnr = plan_buffer(w.path)
  if bufnr then
    vim.b[bufnr].pair_lsp_plan = session_id
    vim.bo[bufnr].bufhidden = 'hide' -- closing the window must not lose the user's edits
  end
end

local augroup = nil

--- Forget a plan once its session ends (proceeded and finished, cancelled, failed).
local function watch_ends()
  if augroup then
    return
  end
  augroup = vim.api.nvim_create_augroup('pair_lsp_plan', { clear = true })
  vim.api.nvim_create_autocmd('User', {
    group = augroup,
    pattern = 'PairResult',
    callback = function(ev)
      local id = type(ev.data) == 'table' and ev.data.sessionId or nil
      local w = id and M.waiting[id]
      if w then
        M.waiting[id] = nil
        local bufnr = plan_buffer(w.path)
        if bufnr and vim.b[bufnr].pair_lsp_plan == id then
          vim.b[bufnr].pair_lsp_plan = nil
        end
      end
    end,
  })
end

--- pair/plan {sessionId, uri, planPath}
function M.on_plan(_, params, ctx)
  if type(params) ~= 'table' or type(params.sessionId) ~= 'string' then
    return
  end
  local path = type(params.planPath) == 'string' and params.planPath
    or (type(params.uri) == 'string' and vim.uri_to_fname(params.uri))
  if not path then
    return
  end
  watch_ends()
  local first = M.waiting[params.sessionId] == nil
  M.waiting[params.sessionId] = { client_id = ctx.client_id, path = path }
  M.open(params.sessionId)
  if first then
    ui.notify(M.HINT, vim.log.levels.WARN)
  end
end

--- The waiting plan a command is about: the current buffer's, else the only one, else asked.
---@param fn fun(session_id: string)
local function pick(fn)
  local here = vim.b.pair_lsp_plan
  if here and M.waiting[here] then
    fn(here)
    return
  end
  local ids = vim.tbl_keys(M.waiting)
  table.sort(ids)
  if #ids == 0 then
    notify('no plan is waiting (it does with planApproval = "ask")', vim.log.levels.WARN)
  elseif #ids == 1 then
    fn(ids[1])
  else
    ui.select(ids, {
      prompt = 'Pair: proceed with which plan?',
      kind = 'pair_lsp',
      format_item = function(id)
        return vim.fn.fnamemodify(M.waiting[id].path, ':~:.')
      end,
    }, function(id)
      if id then
        fn(id)
      end
    end)
  end
end

---@param w pair_lsp.WaitingPlan
---@return vim.lsp.Client|nil, integer
local function client_of(w)
  local client = vim.lsp.get_client_by_id(w.client_id)
  local bufnr = vim.api.nvim_get_current_buf()
  if client and not client.attached_buffers[bufnr] then
    bufnr = next(client.attached_buffers) or bufnr
  end
  return client, bufnr
end

--- :Pair proceed: go on with the plan as the buffer holds it (the file when it is not loaded);
--- the buffer is written, so the file is the plan the session uses.
function M.proceed()
  pick(function(session_id)
    local w = M.waiting[session_id]
    local client, bufnr = client_of(w)
    if not client then
      server.error('pair-lsp is not running')
      return
    end
    local plan_buf = plan_buffer(w.path)
    local text
    if plan_buf then
      text = table.concat(vim.api.nvim_buf_get_lines(plan_buf, 0, -1, false), '\n') .. '\n'
    else
      local fh = io.open(w.path, 'r')
      text = fh and fh:read('*a') or nil
      if fh then
        fh:close()
      end
    end
    server.request(client, bufnr, 'pair.proceed', { sessionId = session_id, plan = text }, function()
      M.waiting[session_id] = nil
      if plan_buf and vim.api.nvim_buf_is_valid(plan_buf) then
        vim.b[plan_buf].pair_lsp_plan = nil
        if vim.bo[plan_buf].modified then
          pcall(vim.api.nvim_buf_call, plan_buf, function()
            vim.cmd('silent write')
          end)
        end
      end
      notify('going on with the plan.')
    end)
  end)
end

--- :Pair cancel in a plan buffer: cancel that session. False when this is not a plan buffer.
---@return boolean
function M.cancel_here()
  local id = vim.b.pair_lsp_plan
  local w = id and M.waiting[id]
  if not w then
    return false
  end
  local client, bufnr = client_of(w)
  if client then
    server.request(client, bufnr, 'pair.cancel', { sessionId = id })
  end
  return true
end

return M

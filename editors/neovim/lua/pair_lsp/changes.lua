--- :Pair changes [base] and :Pair fixchanges: the reviewer (and the worker) on the git change of
--- the workspace, across files. Findings arrive as diagnostics on every file (the server pushes
--- them) and, when the review ends, fill the quickfix list.
local config = require('pair_lsp.config')
local server = require('pair_lsp.server')
local sessions = require('pair_lsp.sessions')
local ui = require('pair_lsp.ui')

local M = {}

--- Change requests waiting for their answer: request id -> client id (for :Pair cancel).
---@type table<integer, integer>
M.pending = {}

local function notify(msg, level)
  ui.notify('Pair: ' .. msg, level)
end

--- pair.reviewChanges' argument for `:Pair changes [arg]`, and the words for the change.
---@param arg string|nil '' or 'uncommitted', 'staged', else a base ref
---@return table argument, string label
function M.scope(arg)
  if arg == nil or arg == '' or arg == 'uncommitted' then
    return { scope = 'uncommitted' }, 'uncommitted changes'
  end
  if arg == 'staged' then
    return { scope = 'staged' }, 'staged changes'
  end
  return { scope = 'base', base = arg }, 'changes against ' .. arg
end

--- The pair_lsp client for a workspace command: the current buffer's; from a buffer it does not
--- attach to (the quickfix window, a plan, a scratch buffer), the one whose root holds the
--- current directory, else any. `fn(client, bufnr)` gets a buffer the client is attached to.
---@param fn fun(client: vim.lsp.Client, bufnr: integer)
local function with_workspace_client(fn)
  local bufnr = vim.api.nvim_get_current_buf()
  if server.client(bufnr) or (vim.bo[bufnr].buftype == '' and vim.api.nvim_buf_get_name(bufnr) ~= '') then
    if not vim.b[bufnr].pair_lsp_transcript then
      server.with_client(bufnr, function(client)
        fn(client, bufnr)
      end) -- waits while the server starts
      return
    end
  end
  local cwd = vim.fs.normalize(vim.fn.getcwd())
  local clients = vim.lsp.get_clients({ name = 'pair_lsp' })
  table.sort(clients, function(a, b)
    local function holds(c)
      return c.root_dir ~= nil and (cwd == c.root_dir or vim.startswith(cwd, c.root_dir .. '/'))
    end
    return holds(a) and not holds(b)
  end)
  local client = clients[1]
  if not client then
    server.error('pair-lsp is not running: open a file of the repository first')
    return
  end
  fn(client, next(client.attached_buffers) or bufnr)
end

--- Run a change command: "starting…" at once (the server's first status says more), its
--- request kept for :Pair cancel; a cancelled request is not an error.
local function change_request(client, bufnr, command, argument, on_result)
  local key = sessions.starting_key(client.root_dir and vim.uri_from_fname(client.root_dir) or '')
  ui.progress(key, 'Pair · starting…')
  local id
  local _, request_id = client:request('workspace/executeCommand', {
    command = command,
    arguments = { argument },
  }, function(err, result)
    M.pending[id or -1] = nil
    if err then
      ui.end_progress(key)
      if err.code ~= -32800 then -- RequestCancelled: the user asked for it
        server.error(err.message or tostring(err))
      end
      return
    end
    on_result(result, client)
  end, bufnr)
  id = request_id
  if id then
    M.pending[id] = client.id
  end
end

local QF_PREFIX = 'pair-lsp: '

--- What `quickfix` says: 'open' (default: fill and open the window), 'fill', or false.
---@return 'open'|'fill'|false
function M.quickfix_mode()
  local q = config.options().quickfix
  if q == false or q == 'fill' then
    return q
  end
  return 'open'
end

--- The diagnostic the server published for a finding (it sits on the quoted code).
---@param bufnr integer
---@param session_id string|nil
---@param finding_id string
---@return vim.Diagnostic|nil
local function diagnostic_of(bufnr, session_id, finding_id)
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local data = d.user_data and d.user_data.lsp and d.user_data.lsp.data
    if
      d.source == 'pair'
      and d.code == finding_id
      and (type(data) ~= 'table' or session_id == nil or data.sessionId == session_id)
    then
      return d
    end
  end
  return nil
end

--- Quickfix items for findings `{file, uri?, line, id, severity, message, rule?}`: at their
--- diagnostic's position (anchored on the quote), else at their line.
---@param findings table[]
---@param session_id string|nil
---@param root string|nil
---@return table[]
function M.quickfix_items(findings, session_id, root)
  local items = {}
  for _, f in ipairs(findings or {}) do
    local file = type(f.uri) == 'string' and vim.uri_to_fname(f.uri)
      or (type(f.file) == 'string' and root and vim.fs.joinpath(root, f.file))
      or nil
    if file then
      local bufnr = vim.fn.bufadd(file)
      local d = diagnostic_of(bufnr, session_id, f.id)
      local text = string.format('[%s] %s: %s', f.severity or 'warning', f.id or '?', f.message or '')
      if type(f.rule) == 'string' and f.rule ~= '' then
        text = text .. ' · rule: ' .. f.rule
      end
      items[#items + 1] = {
        bufnr = bufnr,
        lnum = d and d.lnum + 1 or tonumber(f.line) or 1,
        col = d and d.col + 1 or 1,
        end_lnum = d and d.end_lnum and d.end_lnum + 1 or nil,
        end_col = d and d.end_col and d.end_col + 1 or nil,
        text = text:gsub('\n', ' '),
        user_data = { sessionId = session_id, findingId = f.id },
      }
    end
  end
  table.sort(items, function(a, b)
    local na, nb = vim.api.nvim_buf_get_name(a.bufnr), vim.api.nvim_buf_get_name(b.bufnr)
    if na ~= nb then
      return na < nb
    end
    return a.lnum < b.lnum
  end)
  return items
end

--- Fill the quickfix list (replacing our previous list when it is the current one, else as a
--- new list) and open it without leaving the user's window. An empty review only empties our
--- own list (and closes its window).
---@param items table[]
---@param title string
function M.to_quickfix(items, title)
  local mode = M.quickfix_mode()
  if mode == false then
    return
  end
  local current = vim.fn.getqflist({ title = 0, size = 0 })
  local ours = vim.startswith(current.title or '', QF_PREFIX)
  if #items == 0 and not ours then
    return
  end
  vim.fn.setqflist({}, ours and 'r' or ' ', { title = title, items = items })
  if #items == 0 then
    ui.when_idle(function()
      vim.cmd('cclose') -- nothing found: our old list is emptied and its window goes
    end)
  elseif mode == 'open' then
    ui.when_idle(function()
      local win = vim.api.nvim_get_current_win()
      vim.cmd('botright copen')
      if vim.api.nvim_win_is_valid(win) then
        vim.api.nvim_set_current_win(win)
      end
    end)
  end
end

--- :Pair changes [uncommitted | staged | BASE]
---@param arg string
function M.review(arg)
  local argument, label = M.scope(vim.trim(arg or ''))
  with_workspace_client(function(client, bufnr)
    change_request(client, bufnr, 'pair.reviewChanges', argument, function(result)
      if type(result) ~= 'table' then
        return
      end
      M.to_quickfix(
        M.quickfix_items(result.findings, result.sessionId, client.root_dir),
        QF_PREFIX .. 'review of ' .. label
      )
    end)
  end)
end

---@param edit table a WorkspaceEdit
---@return string[] uris, string|nil why it cannot be applied
local function check_edit(edit)
  local uris = {}
  for _, change in ipairs(edit.documentChanges or {}) do
    local doc = change.textDocument
    if doc and doc.uri then
      uris[#uris + 1] = doc.uri
      local version = doc.version
      local bufnr = vim.fn.bufnr(vim.uri_to_fname(doc.uri))
      if type(version) == 'number' and bufnr > 0 and vim.lsp.util.buf_versions[bufnr] ~= version then
        return uris, vim.fn.fnamemodify(vim.uri_to_fname(doc.uri), ':~:.') .. ' changed since the session read it'
      end
      if type(version) ~= 'number' and bufnr > 0 and vim.bo[bufnr].modified then
        return uris, vim.fn.fnamemodify(vim.uri_to_fname(doc.uri), ':~:.') .. ' has unsaved changes'
      end
    end
  end
  for uri in pairs(edit.changes or {}) do
    uris[#uris + 1] = uri
  end
  return uris, nil
end

--- Apply pair.pairChanges' edit: every file or none; files not open are loaded and changed in
--- their buffers (`:wall` writes them).
local function apply_edit(client, result)
  local uris, problem = check_edit(result.edit)
  if problem then
    notify('not applied: ' .. problem .. ' (run :Pair fixchanges again)', vim.log.levels.WARN)
    return
  end
  vim.lsp.util.apply_workspace_edit(result.edit, client.offset_encoding)
  local unsaved = 0
  for _, uri in ipairs(uris) do
    local bufnr = vim.fn.bufnr(vim.uri_to_fname(uri))
    if bufnr > 0 and vim.bo[bufnr].modified then
      unsaved = unsaved + 1
    end
  end
  notify(
    string.format('applied the edits to %d file(s)', #uris)
      .. (unsaved > 0 and string.format(' (%d not saved yet: :wall)', unsaved) or '.')
  )
end

--- :Pair fixchanges [instruction]: the worker fixes what the reviewer finds in the uncommitted
--- changes; the edit over every file is applied when approved, after a question when not.
---@param instruction string
function M.fix(instruction)
  instruction = vim.trim(instruction or '')
  with_workspace_client(function(client, bufnr)
    local argument = { scope = 'uncommitted', instruction = instruction ~= '' and instruction or nil }
    change_request(client, bufnr, 'pair.pairChanges', argument, function(result)
      if type(result) ~= 'table' then
        return
      end
      local findings = vim.tbl_filter(function(f)
        return type(f) == 'table' and type(f.file) == 'string'
      end, result.findings or {})
      if type(result.edit) ~= 'table' then
        if result.reason and #(result.files or {}) > 0 then
          notify('not applied: ' .. tostring(result.reason), vim.log.levels.WARN)
        end
        M.to_quickfix(
          M.quickfix_items(findings, result.sessionId, client.root_dir),
          QF_PREFIX .. 'open findings after fixing uncommitted changes'
        )
        return
      end
      local function done()
        M.to_quickfix(
          M.quickfix_items(findings, result.sessionId, client.root_dir),
          QF_PREFIX .. 'open findings after fixing uncommitted changes'
        )
      end
      if result.status == 'approved' then
        apply_edit(client, result)
        done()
        return
      end
      local files = #(result.files or {})
      local open = #(result.findings or {})
      ui.select({ 'Apply unapproved edits', 'Cancel' }, {
        prompt = string.format(
          'Pair: the reviewer did not approve these edits to %d file(s) (%s, %d finding(s) open). Apply them anyway?',
          files,
          tostring(result.status),
          open
        ),
        kind = 'pair_lsp',
      }, function(choice)
        if choice == 'Apply unapproved edits' then
          apply_edit(client, result)
        end
        done()
      end)
    end)
  end)
end

--- Cancel the change reviews and pairings this client started that still run: pair.cancel with
--- their session ids (from their pair/status).
---@return integer how many were asked to stop
function M.cancel()
  local n, seen = 0, {}
  for _, client_id in pairs(M.pending) do
    local client = not seen[client_id] and vim.lsp.get_client_by_id(client_id) or nil
    seen[client_id] = true
    local root = client and client.root_dir and vim.uri_from_fname(client.root_dir)
    for id, s in pairs(sessions.by_id) do
      if client and s.uri == root and s.status == 'running' and not sessions.results[id] then
        n = n + 1
        client:request('workspace/executeCommand', {
          command = 'pair.cancel',
          arguments = { { sessionId = id } },
        }, function(err)
          if err then
            notify(
              'this server cannot cancel a change review; it goes on (' .. tostring(err.message) .. ')',
              vim.log.levels.WARN
            )
          end -- else its end is reported by pair/result
        end, next(client.attached_buffers))
      end
    end
  end
  return n
end

--- Completion for :Pair changes: `staged` and the repository's branches.
---@param arglead string
---@return string[]
function M.complete(arglead)
  local client = server.client(0)
  local root = client and client.root_dir or vim.fn.getcwd()
  local ok, out = pcall(function()
    return vim.system({ 'git', 'branch', '--format=%(refname:short)' }, { cwd = root, text = true }):wait(2000)
  end)
  local names = { 'staged' }
  if ok and out and out.code == 0 then
    for _, name in ipairs(vim.split(out.stdout or '', '\n', { trimempty = true })) do
      names[#names + 1] = name
    end
  end
  table.sort(names)
  return vim.tbl_filter(function(name)
    return vim.startswith(name, arglead)
  end, names)
end

return M

--- The proposal in the buffer itself: each hunk's lines to go highlighted in place
--- (PairDiffDelete), the lines it brings as virtual lines below them (PairDiffAdd), a label at
--- the hunk's first line. Nothing changes in the buffer until a hunk is accepted: the server
--- sends that hunk alone as a versioned edit (pair.acceptHunk), so `u` undoes one hunk.
local config = require('pair_lsp.config')
local ui = require('pair_lsp.ui')

local M = {}

M.ns = vim.api.nvim_create_namespace('pair_lsp_inline_diff')

--- How long after the last change of the buffer the proposal is fetched again (ms).
M.debounce = 200

---@class pair_lsp.InlineHunk
---@field index integer 1-based, as the server numbers it
---@field mark integer extmark id spanning the rows the hunk is shown on (they follow edits)
---@field insert boolean the hunk only adds lines (nothing of the buffer is replaced)
---@field new_lines string[]

---@class pair_lsp.InlineDiff
---@field session_id string
---@field client_id integer
---@field total integer hunks in the proposal (open or not)
---@field approved boolean
---@field hunks pair_lsp.InlineHunk[] the open ones, in document order
---@field version integer|nil the document version the rows were rendered for
---@field renders integer how many times it was drawn (tests wait on it)
---@field maps table<string, boolean> the buffer-local keys this plugin set
---@field suspended boolean hidden while :Pair preview shows the diff in a split
---@field proposed? string the buffer's text with the open hunks applied, as last fetched
---@field statuses table<integer, string> each hunk's status, as last fetched

---@type table<integer, pair_lsp.InlineDiff>
M.state = {}

local own_requests = {} ---@type table<integer, boolean> pair.proposal request ids of this module
local timers = {} ---@type table<integer, uv.uv_timer_t>
local attached = {} ---@type table<integer, boolean>

--- Highlight groups, linked by default (a colorscheme or the user may set them).
function M.highlights()
  local links = {
    PairDiffAdd = 'DiffAdd',
    PairDiffDelete = 'DiffDelete',
    PairDiffLabel = 'DiagnosticInfo',
  }
  for group, link in pairs(links) do
    vim.api.nvim_set_hl(0, group, { link = link, default = true })
  end
end

local augroup = vim.api.nvim_create_augroup('pair_lsp_inline_diff', { clear = true })
M.highlights()
vim.api.nvim_create_autocmd('ColorScheme', { group = augroup, callback = M.highlights })

--- vim.g.pair_lsp.inline_diff (default true).
---@return boolean
function M.enabled()
  return config.options().inline_diff ~= false
end

local function notify(msg, level)
  ui.notify('Pair: ' .. msg, level)
end

---@param line string
---@param character integer
---@param encoding string
---@return integer byte column
local function byte_col(line, character, encoding)
  if encoding == 'utf-8' or character == 0 then
    return math.min(character, #line)
  end
  local ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  return ok and col or #line
end

---@param text string
---@return string[]
local function split_lines(text)
  local lines = vim.split(text, '\r?\n')
  if lines[#lines] == '' then
    table.remove(lines)
  end
  return lines
end

--- The label at a hunk: where it is and what to press.
---@param index integer
---@param state pair_lsp.InlineDiff
---@return string
local function label(index, state)
  local text = string.format('hunk %d/%d · :Pair accept / :Pair reject', index, state.total)
  if not state.approved then
    text = text .. ' (not approved)'
  end
  return text
end

--- Pad to the window width so a virtual line is highlighted across, like a real one.
---@param text string
---@return string
local function padded(text)
  local width = vim.fn.strdisplaywidth(text)
  return text .. string.rep(' ', math.max(vim.o.columns - width, 0))
end

---@param bufnr integer
---@param state pair_lsp.InlineDiff
---@param hunk table one of pair.proposal's hunks (open)
---@param encoding string
---@return pair_lsp.InlineHunk|nil
local function draw_hunk(bufnr, state, hunk, encoding)
  local r = hunk.range
  local count = vim.api.nvim_buf_line_count(bufnr)
  local sl, el = r.start.line, r['end'].line
  if sl > count then
    return nil
  end
  local first = vim.api.nvim_buf_get_lines(bufnr, sl, sl + 1, false)[1] or ''
  local sc = byte_col(first, r.start.character, encoding)
  local insert = sl == el and r.start.character == 0 and r['end'].character == 0
  local last_row ---@type integer rows sl..last_row are replaced
  local new_text
  if insert then
    new_text = hunk.newText
  elseif r['end'].character == 0 and el > sl then
    last_row = el - 1
    new_text = first:sub(1, sc) .. hunk.newText
  else
    last_row = math.min(el, count - 1)
    local last = vim.api.nvim_buf_get_lines(bufnr, last_row, last_row + 1, false)[1] or ''
    new_text = first:sub(1, sc) .. hunk.newText .. last:sub(byte_col(last, r['end'].character, encoding) + 1)
  end
  local new_lines = split_lines(new_text)
  local virt = {}
  for i, line in ipairs(new_lines) do
    virt[i] = { { padded(line), 'PairDiffAdd' } }
  end
  local tag = { { '  ' .. label(hunk.index, state), 'PairDiffLabel' } }
  local mark
  if insert then
    -- the new lines above the row they go before (below the last line at the end)
    local at_end = sl >= count
    local row = at_end and count - 1 or sl
    mark = vim.api.nvim_buf_set_extmark(bufnr, M.ns, row, 0, {
      virt_lines = #virt > 0 and virt or nil,
      virt_lines_above = not at_end,
      right_gravity = false,
    })
    local label_row = (sl > 0 and not at_end) and sl - 1 or row
    vim.api.nvim_buf_set_extmark(bufnr, M.ns, label_row, 0, { virt_text = tag, virt_text_pos = 'eol' })
  else
    for row = sl, last_row do
      vim.api.nvim_buf_set_extmark(bufnr, M.ns, row, 0, { line_hl_group = 'PairDiffDelete' })
    end
    local last = vim.api.nvim_buf_get_lines(bufnr, last_row, last_row + 1, false)[1] or ''
    mark = vim.api.nvim_buf_set_extmark(bufnr, M.ns, sl, 0, {
      end_row = last_row,
      end_col = #last,
      virt_text = tag,
      virt_text_pos = 'eol',
    })
    if #virt > 0 then
      vim.api.nvim_buf_set_extmark(bufnr, M.ns, last_row, 0, { virt_lines = virt })
    end
  end
  return { index = hunk.index, mark = mark, insert = insert, new_lines = new_lines }
end

---@param bufnr integer
---@param lhs string
---@return boolean
local function is_own_map(bufnr, lhs)
  for _, map in ipairs(vim.api.nvim_buf_get_keymap(bufnr, 'n')) do
    if map.lhs == lhs then
      return (map.desc or ''):match('^pair%-lsp: ') ~= nil
    end
  end
  return false
end

--- The keys, `]h` / `[h` by default (vim.g.pair_lsp.keys; false turns one or all off).
---@return table<string, string>
function M.keys()
  local keys = config.options().keys
  if keys == false then
    return {}
  end
  keys = type(keys) == 'table' and keys or {}
  local out = {}
  for name, default in pairs({ next_hunk = ']h', prev_hunk = '[h' }) do
    local lhs = keys[name]
    if lhs == nil then
      lhs = default
    end
    if type(lhs) == 'string' and lhs ~= '' then
      out[name] = lhs
    end
  end
  return out
end

--- Buffer-local motions while the diff is shown; a key the user (or another plugin) already
--- maps, here or globally, is left alone.
---@param bufnr integer
---@param state pair_lsp.InlineDiff
local function set_maps(bufnr, state)
  local motions = {
    next_hunk = { 1, 'pair-lsp: next hunk' },
    prev_hunk = { -1, 'pair-lsp: previous hunk' },
  }
  for name, lhs in pairs(M.keys()) do
    local taken = vim.api.nvim_buf_call(bufnr, function()
      return vim.fn.maparg(lhs, 'n') ~= ''
    end)
    if not taken or is_own_map(bufnr, lhs) then
      local dir, desc = motions[name][1], motions[name][2]
      vim.keymap.set('n', lhs, function()
        M.jump(vim.api.nvim_get_current_buf(), dir, vim.v.count1)
      end, { buffer = bufnr, desc = desc })
      state.maps[lhs] = true
    end
  end
end

---@param bufnr integer
---@param state pair_lsp.InlineDiff
local function del_maps(bufnr, state)
  for lhs in pairs(state.maps) do
    if vim.api.nvim_buf_is_valid(bufnr) and is_own_map(bufnr, lhs) then
      pcall(vim.keymap.del, 'n', lhs, { buffer = bufnr })
    end
  end
  state.maps = {}
end

--- Redraw the buffer's windows whole: virtual lines removed in the same tick as an edit of
--- the lines they hung on can leave a line undrawn (seen in Neovim 0.11.4 until CTRL-L).
---@param bufnr integer
local function redraw(bufnr)
  if not pcall(vim.api.nvim__redraw, { buf = bufnr, valid = false }) then
    vim.cmd('redraw!')
  end
end

--- Remove the inline diff of a buffer (its marks, its keys).
---@param bufnr integer
function M.clear(bufnr)
  local state = M.state[bufnr]
  M.state[bufnr] = nil
  if timers[bufnr] then
    timers[bufnr]:stop()
    timers[bufnr]:close()
    timers[bufnr] = nil
  end
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
    redraw(bufnr)
  end
  if state then
    del_maps(bufnr, state)
  end
end

---@param bufnr integer
---@param state pair_lsp.InlineDiff
---@param p table pair.proposal's result
local function render(bufnr, state, p)
  vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  local client = vim.lsp.get_client_by_id(state.client_id)
  local encoding = client and client.offset_encoding or 'utf-16'
  state.total = #(p.hunks or {})
  state.approved = p.approved == true
  state.hunks = {}
  state.version = p.version
  state.proposed = p.proposed
  state.statuses = {}
  for _, hunk in ipairs(p.hunks or {}) do
    state.statuses[hunk.index] = hunk.status
  end
  if not state.suspended then
    for _, hunk in ipairs(p.hunks or {}) do
      if hunk.status == 'open' and type(hunk.range) == 'table' then
        local drawn = draw_hunk(bufnr, state, hunk, encoding)
        if drawn then
          state.hunks[#state.hunks + 1] = drawn
        end
      end
    end
  end
  state.renders = state.renders + 1
  redraw(bufnr)
end

--- The version Neovim last sent for the buffer.
---@param bufnr integer
---@return integer|nil
local function buf_version(bufnr)
  return vim.lsp.util.buf_versions[bufnr]
end

local schedule_refresh

---@param bufnr integer
---@return string
local function buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. (vim.bo[bufnr].eol and '\n' or '')
end

---@param p any pair.proposal's result
---@return boolean
local function has_open(p)
  if type(p) ~= 'table' then
    return false
  end
  for _, hunk in ipairs(p.hunks or {}) do
    if hunk.status == 'open' then
      return true
    end
  end
  return false
end

--- Fetch the proposal again and draw it; when nothing is left open (or it no longer applies),
--- the diff goes.
---@param bufnr integer
---@param on_done? fun(p: table|nil)
function M.refresh(bufnr, on_done)
  local state = M.state[bufnr]
  local client = state and vim.lsp.get_client_by_id(state.client_id)
  if not state or not client or not vim.api.nvim_buf_is_loaded(bufnr) then
    M.clear(bufnr)
    if on_done then
      on_done(nil)
    end
    return
  end
  local session_id = state.session_id
  local ok, id = client:request('workspace/executeCommand', {
    command = 'pair.proposal',
    arguments = { { sessionId = session_id } },
  }, function(err, p)
    local now = M.state[bufnr]
    if now ~= state or now.session_id ~= session_id then
      if on_done then
        on_done(nil) -- cleared or replaced meanwhile
      end
      return
    end
    local open = not err and has_open(p)
    if err and state.proposed and buffer_text(bufnr) ~= state.proposed then
      -- not applied, yet gone: the server withdrew it (the code under it changed)
      M.clear(bufnr)
      notify('proposal withdrawn: the code under it changed', vim.log.levels.WARN)
    elseif not open then
      M.clear(bufnr)
    elseif p.version ~= nil and buf_version(bufnr) ~= nil and p.version ~= buf_version(bufnr) then
      schedule_refresh(bufnr) -- the buffer moved on since: the next fetch draws it
    else
      render(bufnr, state, p)
    end
    if on_done then
      on_done(open and p or nil)
    end
  end, bufnr)
  if ok and id then
    own_requests[id] = true
  end
end

---@param bufnr integer
function schedule_refresh(bufnr)
  if not M.state[bufnr] then
    return
  end
  local timer = timers[bufnr]
  if not timer then
    timer = assert(vim.uv.new_timer())
    timers[bufnr] = timer
  end
  timer:stop()
  timer:start(
    M.debounce,
    0,
    vim.schedule_wrap(function()
      if M.state[bufnr] then
        M.refresh(bufnr)
      end
    end)
  )
end
M.schedule_refresh = schedule_refresh

--- Show a session's proposal in its buffer (replacing any other shown there).
---@param bufnr integer
---@param session_id string
---@param client_id integer
function M.show(bufnr, session_id, client_id)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  local old = M.state[bufnr]
  if old and old.session_id ~= session_id then
    M.clear(bufnr)
    old = nil
  end
  local state = old
    or {
      session_id = session_id,
      client_id = client_id,
      total = 0,
      approved = false,
      hunks = {},
      renders = 0,
      statuses = {},
      maps = {},
      suspended = false,
    }
  M.state[bufnr] = state
  M.refresh(bufnr, function(p)
    if p and M.state[bufnr] == state and vim.tbl_isempty(state.maps) then
      set_maps(bufnr, state)
    end
  end)
  if not attached[bufnr] then
    attached[bufnr] = true
    vim.api.nvim_buf_attach(bufnr, false, {
      on_lines = function()
        if not M.state[bufnr] then
          attached[bufnr] = nil
          return true -- detach
        end
        schedule_refresh(bufnr)
      end,
      on_reload = function()
        schedule_refresh(bufnr)
      end,
      on_detach = function()
        attached[bufnr] = nil
      end,
    })
    vim.api.nvim_create_autocmd('BufUnload', {
      group = augroup,
      buffer = bufnr,
      once = true,
      callback = function()
        M.clear(bufnr)
      end,
    })
  end
end

--- Rows a hunk is shown on now (0-based, inclusive), following the edits since it was drawn.
---@param bufnr integer
---@param hunk pair_lsp.InlineHunk
---@return integer first, integer last
local function rows(bufnr, hunk)
  local pos = vim.api.nvim_buf_get_extmark_by_id(bufnr, M.ns, hunk.mark, { details = true })
  local first = pos[1] or 0
  if hunk.insert then
    -- the line above the new lines holds the label: it counts as the hunk's too
    return math.max(first - 1, 0), first
  end
  local last = pos[3] and pos[3].end_row or first
  return first, last
end

--- The open hunk on the cursor's line (or the only one).
---@param bufnr integer
---@return pair_lsp.InlineHunk|nil
function M.hunk_at(bufnr)
  local state = M.state[bufnr]
  if not state or #state.hunks == 0 then
    return nil
  end
  if #state.hunks == 1 then
    return state.hunks[1]
  end
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  for _, hunk in ipairs(state.hunks) do
    local first, last = rows(bufnr, hunk)
    if row >= first and row <= last then
      return hunk
    end
  end
  return nil
end

--- ]h / [h: the cursor to the next / previous hunk's first line (a jump: `` returns).
---@param bufnr integer
---@param dir integer 1 or -1
---@param count? integer
function M.jump(bufnr, dir, count)
  local state = M.state[bufnr]
  if not state or #state.hunks == 0 then
    return
  end
  local starts = {}
  for _, hunk in ipairs(state.hunks) do
    local first, last = rows(bufnr, hunk)
    starts[#starts + 1] = hunk.insert and last or first
  end
  table.sort(starts)
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  local target
  for _ = 1, count or 1 do
    local found
    if dir > 0 then
      for _, s in ipairs(starts) do
        if s > row then
          found = s
          break
        end
      end
    else
      for i = #starts, 1, -1 do
        if starts[i] < row then
          found = starts[i]
          break
        end
      end
    end
    if not found then
      break
    end
    row, target = found, found
  end
  if target then
    vim.cmd("normal! m'")
    local max = vim.api.nvim_buf_line_count(bufnr)
    vim.api.nvim_win_set_cursor(0, { math.min(target + 1, max), 0 })
    vim.cmd('normal! ^')
  end
end

---@param bufnr integer
---@param command string
---@param argument table
---@param on_result fun(result: any)
local function execute(bufnr, command, argument, on_result)
  local state = M.state[bufnr]
  local client = state and vim.lsp.get_client_by_id(state.client_id)
  if not client then
    return
  end
  client:request('workspace/executeCommand', { command = command, arguments = { argument } }, function(err, result)
    if err then
      notify(err.message or tostring(err), vim.log.levels.ERROR)
      M.refresh(bufnr)
      return
    end
    on_result(result)
  end, bufnr)
end

--- What was decided: the hunk, what is left; once every hunk is, the tally and what comes next.
---@param bufnr integer
---@param index integer
---@param what string 'accepted' | 'rejected'
---@param total integer
---@param tally table<integer, string>
local function say(bufnr, index, what, total, tally)
  local state = M.state[bufnr]
  local left = state and #state.hunks or 0
  if left > 0 then
    notify(string.format('hunk %d/%d %s · %d left (]h [h)', index, total, what, left))
    return
  end
  local accepted, rejected = 0, 0
  for _, decision in pairs(tally) do
    if decision == 'accepted' then
      accepted = accepted + 1
    elseif decision == 'rejected' then
      rejected = rejected + 1
    end
  end
  if rejected == 0 then
    notify(string.format('%d hunk%s accepted', accepted, accepted == 1 and '' or 's'))
  elseif accepted == 0 then
    notify(string.format('%d hunk%s rejected · :Pair continue', rejected, rejected == 1 and '' or 's'))
  else
    notify(
      string.format(
        '%d hunk%s accepted, %d rejected · :Pair continue',
        accepted,
        accepted == 1 and '' or 's',
        rejected
      )
    )
  end
end

---@param bufnr integer
---@param state pair_lsp.InlineDiff
---@param indexes integer[] the hunks just decided
---@param what string
local function after_decision(bufnr, state, indexes, what)
  -- every hunk's status: as last fetched (decisions made by code actions too), and these
  local tally = vim.deepcopy(state.statuses)
  for _, index in ipairs(indexes) do
    tally[index] = what
  end
  local total = state.total
  M.refresh(bufnr, function()
    say(bufnr, indexes[1], what, total, tally)
  end)
end

---@param bufnr integer
---@return pair_lsp.InlineDiff|nil
local function shown(bufnr)
  local state = M.state[bufnr]
  if not state or #state.hunks == 0 then
    notify('no proposal is shown in this buffer', vim.log.levels.WARN)
    return nil
  end
  return state
end

--- The shown proposal and its hunk at the cursor; nil (and why, said) when there is none.
---@param bufnr integer
local function cursor_hunk(bufnr)
  local state = shown(bufnr)
  if not state then
    return nil, nil
  end
  local hunk = M.hunk_at(bufnr)
  if not hunk then
    notify('the cursor is not on a hunk (]h / [h move to one)', vim.log.levels.WARN)
  end
  return state, hunk
end

--- :Pair accept: the hunk at the cursor, applied alone (one undo step).
---@param bufnr integer
function M.accept(bufnr)
  local state, hunk = cursor_hunk(bufnr)
  if not hunk then
    return
  end
  -- the edit comes back as workspace/applyEdit: one undo step (handlers.apply_edit)
  execute(bufnr, 'pair.acceptHunk', { sessionId = state.session_id, hunk = hunk.index }, function(result)
    if type(result) == 'table' and result.applied then
      after_decision(bufnr, state, { hunk.index }, 'accepted')
    else
      M.refresh(bufnr) -- the server said why (window/showMessage)
    end
  end)
end

--- :Pair reject [reason]: the hunk at the cursor; the worker hears it on :Pair continue.
---@param bufnr integer
---@param reason? string
function M.reject(bufnr, reason)
  local state, hunk = cursor_hunk(bufnr)
  if not hunk then
    return
  end
  local arg = { sessionId = state.session_id, hunk = hunk.index, reason = reason ~= '' and reason or nil }
  execute(bufnr, 'pair.rejectHunk', arg, function()
    after_decision(bufnr, state, { hunk.index }, 'rejected')
  end)
end

--- :Pair reject all [reason]: every open hunk.
---@param bufnr integer
---@param reason? string
function M.reject_all(bufnr, reason)
  local state = shown(bufnr)
  if not state then
    return
  end
  local indexes = vim.tbl_map(function(hunk)
    return hunk.index
  end, state.hunks)
  local pending = #indexes
  for _, index in ipairs(indexes) do
    local arg = { sessionId = state.session_id, hunk = index, reason = reason ~= '' and reason or nil }
    execute(bufnr, 'pair.rejectHunk', arg, function()
      pending = pending - 1
      if pending == 0 then
        after_decision(bufnr, state, indexes, 'rejected')
      end
    end)
  end
end

--- Hide the marks while :Pair preview shows the diff in a split (they would show it twice).
---@param bufnr integer
---@param hidden boolean
function M.suspend(bufnr, hidden)
  local state = M.state[bufnr]
  if state then
    state.suspended = hidden
    M.refresh(bufnr)
  end
end

--- The session ended (pair/result): its proposal is shown; a session on this buffer that
--- brings nothing to show removes an older one's diff.
---@param result table
---@param client_id integer
function M.on_result(result, client_id)
  if type(result.uri) ~= 'string' then
    return
  end
  local bufnr = vim.uri_to_bufnr(result.uri)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  if result.hasProposal and M.enabled() then
    M.show(bufnr, result.sessionId, client_id)
  elseif M.state[bufnr] and M.state[bufnr].session_id ~= result.sessionId then
    M.clear(bufnr)
  end
end

--- A session runs on the buffer (pair/status): a new one, or more rounds of the one shown
--- (pair.continue keeps its id): the proposal shown is not the one that will come.
---@param status table
function M.on_status(status)
  if type(status.uri) ~= 'string' or status.status ~= 'running' then
    return
  end
  local bufnr = vim.uri_to_bufnr(status.uri)
  if M.state[bufnr] then
    M.clear(bufnr)
  end
end

--- A command ran through a code action (accept / reject / apply / discard): fetch again.
function M.on_lsp_request(ev)
  local request = ev.data and ev.data.request
  if not request or request.type ~= 'complete' or request.method ~= 'workspace/executeCommand' then
    return
  end
  if own_requests[ev.data.request_id] then
    own_requests[ev.data.request_id] = nil -- (LspRequest 'complete' comes before the reply's handler)
    return
  end
  for bufnr, state in pairs(M.state) do
    if state.client_id == ev.data.client_id then
      schedule_refresh(bufnr)
    end
  end
end

return M

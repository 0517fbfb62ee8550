--- pair-lsp for Neovim 0.11+: the :Pair command and its subcommands.
local client_commands = require('pair_lsp.client_commands')
local inline_diff = require('pair_lsp.inline_diff')
local server = require('pair_lsp.server')
local sessions = require('pair_lsp.sessions')
local ui = require('pair_lsp.ui')

local M = {}

M.statusline = sessions.statusline

--- Optional: set options and enable the server (the same as vim.g.pair_lsp + vim.lsp.enable).
---@param opts? pair_lsp.Options
function M.setup(opts)
  vim.g.pair_lsp = vim.tbl_deep_extend('force', vim.g.pair_lsp or {}, opts or {})
  vim.lsp.enable('pair_lsp')
end

local function notify(msg, level)
  ui.notify('Pair: ' .. msg, level)
end

--- A session command (selection, file, review, continue, retry): its end is shown once, by
--- pair/result. Only a server that does not send pair/result gets a line from here.
local function session_command(bufnr, command, argument)
  server.with_client(bufnr, function(client)
    sessions.starting(bufnr) -- the server's first status can take seconds
    server.request(client, bufnr, command, argument, function(result)
      if type(result) ~= 'table' or not result.sessionId then
        return
      end
      vim.defer_fn(function()
        if not sessions.results[result.sessionId] then
          local level = result.status == 'failed' and vim.log.levels.ERROR or vim.log.levels.INFO
          notify(result.status .. (result.reason and (': ' .. result.reason) or ''), level)
        end
      end, 500)
    end, function()
      sessions.start_failed(bufnr)
    end)
  end)
end

--- Whole-line range for lines l1..l2 (1-based): character 0 is the same in every encoding.
local function line_range(bufnr, l1, l2)
  local last = vim.api.nvim_buf_line_count(bufnr)
  local stop = l2 >= last and { line = last, character = 0 } or { line = l2, character = 0 }
  return { start = { line = l1 - 1, character = 0 }, ['end'] = stop }
end

local function with_instruction(instruction, callback)
  if instruction and instruction ~= '' then
    callback(instruction)
  else
    client_commands.ask_instruction(callback)
  end
end

M.subcommands = {}

function M.subcommands.selection(ctx)
  local bufnr = vim.api.nvim_get_current_buf()
  local l1, l2 = ctx.line1, ctx.line2
  if ctx.range == 0 then
    l1 = vim.fn.line('.')
    l2 = l1
  end
  with_instruction(ctx.args, function(instruction)
    session_command(bufnr, 'pair.selection', {
      uri = vim.uri_from_bufnr(bufnr),
      range = line_range(bufnr, l1, l2),
      instruction = instruction,
    })
  end)
end

function M.subcommands.file(ctx)
  local bufnr = vim.api.nvim_get_current_buf()
  with_instruction(ctx.args, function(instruction)
    session_command(bufnr, 'pair.document', { uri = vim.uri_from_bufnr(bufnr), instruction = instruction })
  end)
end

function M.subcommands.review(ctx)
  local bufnr = vim.api.nvim_get_current_buf()
  local arg = { uri = vim.uri_from_bufnr(bufnr) }
  if ctx.range > 0 then
    arg.range = line_range(bufnr, ctx.line1, ctx.line2)
  end
  session_command(bufnr, 'pair.review', arg)
end

function M.subcommands.cancel()
  if require('pair_lsp.plan').cancel_here() then
    return -- a plan buffer: its session
  end
  local changes = require('pair_lsp.changes').cancel() -- :Pair changes / fixchanges running
  local bufnr = vim.api.nvim_get_current_buf()
  if changes > 0 and not server.client(bufnr) then
    return
  end
  server.execute(bufnr, 'pair.cancel', { uri = vim.uri_from_bufnr(bufnr) }, function(result)
    if #((result or {}).cancelled or {}) == 0 and changes == 0 then
      notify('no session is running in this buffer')
    end -- a cancelled session's end is reported by pair/result
  end)
end

--- The session under the cursor's finding, else the buffer's latest; or a message.
local function target_session(bufnr)
  local id = sessions.session_at(bufnr)
  if not id then
    notify('no pair session in this buffer yet (:Pair selection, :Pair file)', vim.log.levels.WARN)
  end
  return id
end

--- Apply a session's edit. Without `confirmed`, the server asks before it applies an edit the
--- reviewer did not approve (window/showMessageRequest, shown with vim.ui.select).
local function apply(bufnr, session_id, confirmed)
  server.execute(bufnr, 'pair.apply', { sessionId = session_id, confirmed = confirmed or nil }, function(result)
    if type(result) ~= 'table' then
      return
    end
    if result.applied then
      notify('applied.')
    else
      notify('not applied: ' .. (result.reason or 'unknown reason'), vim.log.levels.WARN)
    end
  end)
end

function M.subcommands.apply()
  local bufnr = vim.api.nvim_get_current_buf()
  local id = target_session(bufnr)
  if id then
    apply(bufnr, id, false)
  end
end

--- The session whose proposal is shown inline in this buffer, else as target_session.
local function proposal_session(bufnr)
  local state = inline_diff.state[bufnr]
  return state and state.session_id or target_session(bufnr)
end

--- :Pair accept [all]: the hunk at the cursor of the inline diff (one undo step each); `all`:
--- every open hunk at once, as :Pair apply.
function M.subcommands.accept(ctx)
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.trim(ctx.args) == 'all' then
    local id = proposal_session(bufnr)
    if id then
      apply(bufnr, id, false)
    end
    return
  end
  inline_diff.accept(bufnr)
end

--- :Pair reject [all] [reason]: the hunk at the cursor (or every open one); the worker reads
--- the reason on :Pair continue.
function M.subcommands.reject(ctx)
  local bufnr = vim.api.nvim_get_current_buf()
  local first, rest = ctx.args:match('^(%S*)%s*(.-)%s*$')
  if first == 'all' then
    inline_diff.reject_all(bufnr, rest)
  else
    inline_diff.reject(bufnr, vim.trim(ctx.args))
  end
end

--- :Pair preview: the proposal in a vertical split in diff mode (close it to end the diff).
function M.subcommands.preview()
  local bufnr = vim.api.nvim_get_current_buf()
  local id = proposal_session(bufnr)
  if not id then
    return
  end
  server.with_client(bufnr, function(client)
    client_commands.preview({ arguments = { { sessionId = id } } }, { client_id = client.id, bufnr = bufnr })
  end)
end

function M.subcommands.continue(ctx)
  local bufnr = vim.api.nvim_get_current_buf()
  local id = target_session(bufnr)
  if not id then
    return
  end
  local rounds, instruction = ctx.args:match('^(%d*)%s*(.-)$')
  session_command(bufnr, 'pair.continue', {
    sessionId = id,
    rounds = tonumber(rounds),
    instruction = instruction ~= '' and instruction or nil,
  })
end

local function show_transcript(bufnr, session_id)
  server.execute(bufnr, 'pair.showTranscript', session_id and { sessionId = session_id } or nil, function(result)
    if type(result) == 'table' and result.path then
      require('pair_lsp.handlers').open_in_split(result.path) -- focuses it if already shown
    end
  end)
end

function M.subcommands.transcript()
  local bufnr = vim.api.nvim_get_current_buf()
  show_transcript(bufnr, sessions.session_at(bufnr))
end

local function open_settings()
  local root = vim.fs.root(0, { '.pair-lsp.toml', 'pyproject.toml', '.git' }) or vim.fn.getcwd()
  local file = require('pair_lsp.trust').project_file(root)
  if file then
    vim.cmd('belowright split ' .. vim.fn.fnameescape(file))
  else
    vim.cmd('help pair_lsp-options')
  end
end

--- What each action of pair/result does, and its label.
M.actions = {
  apply = {
    'Apply approved edit',
    function(b, r)
      apply(b, r.sessionId, false)
    end,
  },
  applyUnapproved = {
    'Apply unapproved edit (the reviewer did not approve it)',
    function(b, r)
      apply(b, r.sessionId, true) -- the label said so: the server does not ask again
    end,
  },
  preview = {
    'Preview edit',
    function(b, r)
      local client = server.client(b)
      if client then
        client_commands.preview({ arguments = { { sessionId = r.sessionId } } }, { client_id = client.id, bufnr = b })
      end
    end,
  },
  continue = {
    'Two more rounds',
    function(b, r)
      session_command(b, 'pair.continue', { sessionId = r.sessionId, rounds = 2 })
    end,
  },
  discard = {
    'Discard',
    function(b, r)
      server.execute(b, 'pair.discard', { sessionId = r.sessionId }, function()
        if inline_diff.state[b] and inline_diff.state[b].session_id == r.sessionId then
          inline_diff.clear(b)
        end
        notify('discarded.')
      end)
    end,
  },
  retry = {
    'Retry',
    function(b, r)
      session_command(b, 'pair.retry', { sessionId = r.sessionId })
    end,
  },
  openSettings = {
    'Open settings',
    function()
      open_settings()
    end,
  },
  showTranscript = {
    'Show transcript',
    function(b, r)
      show_transcript(b, r.sessionId)
    end,
  },
}

function M.subcommands.actions()
  local bufnr = vim.api.nvim_get_current_buf()
  local result = sessions.latest_result(bufnr)
  if not result then
    notify('no session has ended yet', vim.log.levels.WARN)
    return
  end
  local choices = vim.tbl_filter(function(name)
    return M.actions[name] ~= nil
  end, result.actions or {})
  if #choices == 0 then
    ui.notify(result.message or 'Pair: nothing to do', vim.log.levels.INFO)
    return
  end
  local target = result.uri and vim.uri_to_bufnr(result.uri) or bufnr
  ui.select(choices, {
    prompt = result.message or 'Pair',
    kind = 'pair_lsp',
    format_item = function(name)
      return M.actions[name][1]
    end,
  }, function(name)
    if name then
      M.actions[name][2](target, result)
    end
  end)
end

-- git changes across files (changes.lua), the plan and steering (plan.lua, steering.lua)
function M.subcommands.changes(ctx)
  require('pair_lsp.changes').review(ctx.args)
end

function M.subcommands.fixchanges(ctx)
  require('pair_lsp.changes').fix(ctx.args)
end

function M.subcommands.proceed()
  require('pair_lsp.plan').proceed()
end

function M.subcommands.steer(ctx)
  require('pair_lsp.steering').steer(ctx.args)
end

function M.subcommands.status()
  local bufnr = vim.api.nvim_get_current_buf()
  server.execute(bufnr, 'pair.status', nil, function(result)
    local lines = { string.format('pair-lsp %s', result.version or '?') }
    local s = result.settings or {}
    for _, role in ipairs({ 'worker', 'reviewer' }) do
      local r = s[role] or {}
      table.insert(
        lines,
        string.format('%-9s %s:%s (key: %s)', role .. ':', r.provider, r.model, (result.keys or {})[role])
      )
    end
    table.insert(lines, string.format('maxRounds %s · maxTokens %s', s.maxRounds, s.maxTokens))
    for _, session in ipairs(result.sessions or {}) do
      table.insert(
        lines,
        string.format(
          '%s  %-9s round %s  %s tokens  %s',
          session.sessionId,
          session.status,
          session.rounds or session.round,
          session.tokens,
          session.uri
        )
      )
    end
    -- asked for: a multi-line listing, like :ls
    vim.api.nvim_echo({ { table.concat(lines, '\n') } }, true, {})
  end)
end

---@return string[]
local function names()
  local list = vim.tbl_keys(M.subcommands)
  table.sort(list)
  return list
end

M.USAGE = {
  'Pair: a worker model writes, a reviewer model reviews (:help pair_lsp)',
  ":'<,'>Pair [instruction]     pair on the selected lines (asks without an instruction)",
  ':Pair file [instruction]     pair on the whole buffer',
  ':[range]Pair review          the reviewer only: findings as diagnostics',
  ':Pair changes [staged|BASE]  review the git changes: findings in the quickfix list',
  ':Pair fixchanges | steer {note} | proceed (a plan waits)',
  ':Pair accept | reject [reason]   the hunk at the cursor of the inline diff (]h [h: next/prev)',
  ':Pair apply | accept all | reject all | preview | actions | continue [rounds] | cancel',
  ':Pair transcript | status',
}

--- Completion of a subcommand's argument.
local function complete_all(arglead)
  return vim.startswith('all', arglead) and { 'all' } or {}
end

M.complete_argument = {
  accept = complete_all,
  changes = function(arglead)
    return require('pair_lsp.changes').complete(arglead)
  end,
  reject = complete_all,
}

---@param arglead string
---@return string[]
function M.complete(arglead, cmdline)
  local sub = cmdline:match('^%S*Pair%s+(%S+)%s+%S*$')
  if sub and M.complete_argument[sub] then
    return M.complete_argument[sub](arglead)
  end
  if cmdline:match('^%S*Pair%s+%S+%s') then
    return {}
  end
  return vim.tbl_filter(function(name)
    return vim.startswith(name, arglead)
  end, names())
end

--- Entry point of :Pair (see plugin/pair_lsp.lua). With a range, words that are not
--- `selection` or `review` are the instruction: `:'<,'>Pair handle empty lists`.
function M.run(opts)
  local name, rest = opts.args:match('^(%S*)%s*(.-)%s*$')
  local ctx = { args = rest, range = opts.range, line1 = opts.line1, line2 = opts.line2 }
  if opts.range > 0 and name ~= 'selection' and name ~= 'review' then
    ctx.args = vim.trim(opts.args)
    M.subcommands.selection(ctx)
    return
  end
  if name == '' then
    vim.api.nvim_echo({ { table.concat(M.USAGE, '\n') } }, false, {})
    return
  end
  local sub = M.subcommands[name]
  if not sub then
    notify(
      string.format("unknown subcommand '%s' (one of: %s; :help :Pair)", name, table.concat(names(), ', ')),
      vim.log.levels.ERROR
    )
    return
  end
  sub(ctx)
end

return M

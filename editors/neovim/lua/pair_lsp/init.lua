--- pair-lsp for Neovim 0.11+: the :Pair command and its subcommands.
local sessions = require('pair_lsp.sessions')

local M = {}

M.statusline = sessions.statusline

--- Optional: set options and enable the server (the same as vim.g.pair_lsp + vim.lsp.enable).
---@param opts? pair_lsp.Options
function M.setup(opts)
  vim.g.pair_lsp = vim.tbl_deep_extend('force', vim.g.pair_lsp or {}, opts or {})
  vim.lsp.enable('pair_lsp')
end

local function notify(msg, level)
  vim.notify('Pair: ' .. msg, level or vim.log.levels.INFO, { title = 'pair-lsp' })
end

---@param bufnr integer
---@return vim.lsp.Client|nil
local function client_for(bufnr)
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = 'pair_lsp' })[1]
  if not client then
    notify("pair-lsp is not attached to this buffer (vim.lsp.enable('pair_lsp'))", vim.log.levels.ERROR)
  end
  return client
end

local function summary(result)
  if type(result) ~= 'table' then
    return 'done'
  end
  local n = #(result.findings or {})
  local text = string.format('%s in %d round%s', result.status, result.rounds or 0, result.rounds == 1 and '' or 's')
  if result.reason and result.reason ~= '' and result.reason ~= result.status then
    text = text .. ' (' .. result.reason .. ')'
  end
  if n > 0 then
    text = text .. string.format(' · %d finding%s', n, n == 1 and '' or 's')
  end
  if result.status == 'approved' and result.hasProposal then
    text = text .. ' · apply with :Pair apply or the code action'
  end
  return text
end

--- Run a server command asynchronously; `on_result` gets the result table.
local function execute(bufnr, command, argument, on_result)
  local client = client_for(bufnr)
  if not client then
    return
  end
  client:request('workspace/executeCommand', {
    command = command,
    arguments = argument and { argument } or {},
  }, function(err, result)
    if err then
      notify(err.message or tostring(err), vim.log.levels.ERROR)
      return
    end
    if on_result then
      on_result(result)
    end
  end, bufnr)
end

local function pair_command(bufnr, command, argument)
  execute(bufnr, command, argument, function(result)
    local level = (result and result.status == 'failed') and vim.log.levels.ERROR or vim.log.levels.INFO
    notify(summary(result) .. (result and result.status == 'failed' and (': ' .. (result.reason or '')) or ''), level)
  end)
end

--- Whole-line range for lines l1..l2 (1-based): character 0 is the same in every encoding.
local function line_range(bufnr, l1, l2)
  local last = vim.api.nvim_buf_line_count(bufnr)
  local stop = l2 >= last and { line = last, character = 0 } or { line = l2, character = 0 }
  return { start = { line = l1 - 1, character = 0 }, ['end'] = stop }
end

local function ask(instruction, callback)
  if instruction and instruction ~= '' then
    callback(instruction)
    return
  end
  vim.ui.input({ prompt = 'Pair instruction (empty: improve and fix): ' }, function(input)
    if input ~= nil then -- nil: the user cancelled
      callback(input)
    end
  end)
end

M.subcommands = {}

function M.subcommands.selection(ctx)
  local bufnr = vim.api.nvim_get_current_buf()
  local l1, l2 = ctx.line1, ctx.line2
  if ctx.range == 0 then
    l1 = vim.fn.line('.')
    l2 = l1
  end
  ask(ctx.args, function(instruction)
    pair_command(bufnr, 'pair.selection', {
      uri = vim.uri_from_bufnr(bufnr),
      range = line_range(bufnr, l1, l2),
      instruction = instruction,
    })
  end)
end

function M.subcommands.file(ctx)
  local bufnr = vim.api.nvim_get_current_buf()
  ask(ctx.args, function(instruction)
    pair_command(bufnr, 'pair.document', { uri = vim.uri_from_bufnr(bufnr), instruction = instruction })
  end)
end

function M.subcommands.review(ctx)
  local bufnr = vim.api.nvim_get_current_buf()
  local arg = { uri = vim.uri_from_bufnr(bufnr) }
  if ctx.range > 0 then
    arg.range = line_range(bufnr, ctx.line1, ctx.line2)
  end
  pair_command(bufnr, 'pair.review', arg)
end

function M.subcommands.cancel()
  local bufnr = vim.api.nvim_get_current_buf()
  execute(bufnr, 'pair.cancel', { uri = vim.uri_from_bufnr(bufnr) }, function(result)
    local n = #((result or {}).cancelled or {})
    notify(n > 0 and ('cancelled ' .. n .. ' session(s)') or 'no session is running here')
  end)
end

function M.subcommands.apply()
  local bufnr = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  local latest = sessions.latest(bufnr)
  local arg = latest and { sessionId = latest.sessionId } or { uri = uri }
  execute(bufnr, 'pair.apply', arg, function(result)
    if result and result.applied then
      notify('applied')
    elseif result then
      notify('not applied: ' .. (result.reason or 'unknown reason'), vim.log.levels.WARN)
    end
  end)
end

function M.subcommands.transcript()
  local bufnr = vim.api.nvim_get_current_buf()
  local latest = sessions.latest(bufnr)
  execute(bufnr, 'pair.showTranscript', latest and { sessionId = latest.sessionId } or nil, function(result)
    if result and result.path and vim.fn.bufexists(result.path) == 0 then
      vim.cmd.edit(vim.fn.fnameescape(result.path)) -- for clients where showDocument did nothing
    end
  end)
end

function M.subcommands.status()
  local bufnr = vim.api.nvim_get_current_buf()
  execute(bufnr, 'pair.status', nil, function(result)
    local lines = { string.format('pair-lsp %s', result.version or '?') }
    local s = result.settings or {}
    table.insert(
      lines,
      string.format('worker:   %s:%s (key: %s)', s.worker.provider, s.worker.model, result.keys.worker)
    )
    table.insert(
      lines,
      string.format('reviewer: %s:%s (key: %s)', s.reviewer.provider, s.reviewer.model, result.keys.reviewer)
    )
    table.insert(lines, string.format('maxRounds %d · maxTokens %d', s.maxRounds, s.maxTokens))
    for _, session in ipairs(result.sessions or {}) do
      table.insert(
        lines,
        string.format(
          '%s  %-9s round %s  %s tokens  %s',
          session.sessionId,
          session.status,
          session.rounds,
          session.tokens,
          session.uri
        )
      )
    end
    notify(table.concat(lines, '\n'))
  end)
end

---@param arglead string
---@return string[]
function M.complete(arglead, cmdline)
  if cmdline:match('^%S*Pair%s+%S+%s') then
    return {}
  end
  return vim.tbl_filter(function(name)
    return vim.startswith(name, arglead)
  end, vim.tbl_keys(M.subcommands))
end

--- Entry point of :Pair (see plugin/pair_lsp.lua).
function M.run(opts)
  local name, rest = opts.args:match('^(%S*)%s*(.-)%s*$')
  local sub = M.subcommands[name]
  if not sub then
    notify(
      string.format("unknown subcommand '%s' (one of: %s)", name, table.concat(vim.tbl_keys(M.subcommands), ', ')),
      vim.log.levels.ERROR
    )
    return
  end
  sub({ args = rest, range = opts.range, line1 = opts.line1, line2 = opts.line2 })
end

return M

--- Commands the client implements for the server's code actions (listed in clientCommands).
local server = require('pair_lsp.server')
local ui = require('pair_lsp.ui')

local M = {}

M.INSTRUCTION_PROMPT = 'Pair instruction (empty: improve and fix): '

--- Ask for an instruction (empty: the default; Esc/cancel: nothing happens).
---@param callback fun(instruction: string)
function M.ask_instruction(callback)
  ui.when_idle(function()
    vim.ui.input({ prompt = M.INSTRUCTION_PROMPT }, function(input)
      if input ~= nil then
        callback(input)
      end
    end)
  end)
end

---@param text string
---@return string[]
local function lines_of(text)
  local lines = vim.split(text, '\n', { plain = true })
  if lines[#lines] == '' then
    table.remove(lines)
  end
  return lines
end

---@param name string
---@param text string
---@param filetype string
---@return integer
local function scratch(name, text, filetype)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines_of(text))
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].modifiable = false
  pcall(vim.api.nvim_buf_set_name, buf, name)
  vim.bo[buf].filetype = filetype
  return buf
end

--- A vertical split with the proposal, diffed against the buffer (or against the text the
--- proposal was made from, when the buffer changed since). Closing it ends the diff.
---@param p table pair.proposal's result
function M.show_diff(p)
  local src = vim.uri_to_bufnr(p.uri)
  vim.fn.bufload(src)
  local ft = vim.bo[src].filetype
  local current = table.concat(vim.api.nvim_buf_get_lines(src, 0, -1, false), '\n') .. '\n'
  local left_win = vim.fn.win_findbuf(src)[1]
  if left_win then
    vim.api.nvim_set_current_win(left_win)
  end
  local short = (p.sessionId or 'proposal'):sub(1, 8)
  -- the inline diff would show the change a second time in the left window: hidden meanwhile
  local inline_diff = require('pair_lsp.inline_diff')
  inline_diff.suspend(src, true)
  if current ~= p.original or not left_win then
    vim.cmd('tab split')
    vim.api.nvim_win_set_buf(0, scratch('pair://' .. short .. '/original', p.original, ft))
    left_win = vim.api.nvim_get_current_win()
  end
  vim.cmd('diffthis')
  vim.cmd('rightbelow vsplit')
  local right = scratch('pair://' .. short .. '/proposed', p.proposed, ft)
  vim.api.nvim_win_set_buf(0, right)
  vim.cmd('diffthis')
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = right,
    once = true,
    callback = function()
      if vim.api.nvim_win_is_valid(left_win) then
        vim.api.nvim_win_call(left_win, function()
          vim.cmd('diffoff')
        end)
      end
      inline_diff.suspend(src, false)
    end,
  })
end

--- pair.preview {sessionId}: the proposal as a diff.
function M.preview(command, ctx)
  local arg = (command.arguments or {})[1] or {}
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client or not arg.sessionId then
    return
  end
  server.request(client, ctx.bufnr, 'pair.proposal', { sessionId = arg.sessionId }, function(p)
    if type(p) == 'table' and p.proposed then
      M.show_diff(p)
    end
  end)
end

--- pair.pairOnSelection {uri, range}: ask for the instruction, then pair.selection.
function M.pair_on_selection(command, ctx)
  local arg = (command.arguments or {})[1] or {}
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client or not arg.uri or not arg.range then
    return
  end
  M.ask_instruction(function(instruction)
    server.request(client, ctx.bufnr, 'pair.selection', {
      uri = arg.uri,
      range = arg.range,
      instruction = instruction,
    })
  end)
end

M.table = {
  ['pair.preview'] = M.preview,
  ['pair.pairOnSelection'] = M.pair_on_selection,
}

return M

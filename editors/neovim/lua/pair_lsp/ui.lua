--- What the user sees: one-line messages (never a "Press ENTER" prompt), the compact progress,
--- and choices asked with vim.ui.select only when the user is not typing.
local M = {}

local levels = vim.log.levels
local HL = { [levels.ERROR] = 'ErrorMsg', [levels.WARN] = 'WarningMsg' }

--- True when vim.notify is Neovim's own (it echoes; long text would ask for ENTER).
---@return boolean
function M.builtin_notifier()
  local info = debug.getinfo(vim.notify, 'S')
  return info ~= nil and info.source:find('vim/_editor.lua', 1, true) ~= nil
end

--- `text` on one line of at most `width` cells, cut at a word with "…".
---@param text string
---@param width integer
---@return string
function M.fit(text, width)
  text = text:gsub('%s*\n%s*', ' · ')
  if vim.fn.strdisplaywidth(text) <= width then
    return text
  end
  local cut = vim.fn.strcharpart(text, 0, math.max(width - 1, 1))
  local at_word = cut:match('^(.*%S)%s') -- drop the partial last word
  if at_word and vim.fn.strdisplaywidth(at_word) >= width - 16 then
    cut = at_word
  end
  return cut .. '…'
end

--- The last line shown in the echo area by this plugin (for :Pair actions and tests).
M.last_echo = nil ---@type string|nil

local echo
---@param text string
---@param level integer
---@param history boolean
function echo(text, level, history)
  local mode = vim.api.nvim_get_mode()
  local first = mode.mode:sub(1, 1)
  -- never draw over the command line or a pending prompt, nor where "-- INSERT --" would
  -- overwrite it at once: a message waits until then, a progress line is dropped
  if first == 'c' or (vim.o.showmode and (first == 'i' or first == 'R')) then
    if history then
      vim.api.nvim_create_autocmd('ModeChanged', {
        once = true,
        callback = function()
          -- after the redraw that clears the mode message
          vim.defer_fn(function()
            echo(text, level, history)
          end, 30)
        end,
      })
    end
    return
  end
  local line = M.fit(text, math.max(vim.v.echospace, 20))
  M.last_echo = line
  vim.api.nvim_echo({ { line, HL[level] } }, history, {})
end

--- One message: through a notifier plugin in full, or one line in the echo area that fits.
---@param text string
---@param level? integer vim.log.levels
---@param replace? any a notification record returned by an earlier call (replaced in place)
---@param id? string a stable id (snacks.notifier replaces by id)
---@return any record the notifier's record, when it returned one
function M.notify(text, level, replace, id)
  level = level or levels.INFO
  if M.builtin_notifier() then
    echo(text, level, true)
    return nil
  end
  return vim.notify(text, level, { title = 'pair-lsp', replace = replace, id = id })
end

--- Progress records per session (a notifier record, or true when shown in the echo area).
local shown = {} ---@type table<string, any>
local replace_ok = nil ---@type boolean|nil nil: unknown yet

--- Show a session's progress line, replacing the previous one.
---@param session_id string
---@param text string
function M.progress(session_id, text)
  local mode = require('pair_lsp.config').progress()
  if mode == false then
    return
  end
  local use_notify = mode == 'notify' or (mode == 'auto' and not M.builtin_notifier() and replace_ok ~= false)
  if use_notify then
    local prev = shown[session_id]
    local rec = vim.notify(text, levels.INFO, {
      title = 'pair-lsp',
      replace = prev ~= true and prev or nil,
      id = 'pair-lsp-' .. session_id,
      hide_from_history = true,
    })
    if rec ~= nil then
      replace_ok = true
      shown[session_id] = rec
      return
    end
    replace_ok = false -- this notifier cannot replace: the next lines go to the echo area
    shown[session_id] = true
    return
  end
  shown[session_id] = true
  echo(text, levels.INFO, false)
end

--- A progress line shown under a provisional key (before the server named the session) now
--- belongs to `session_id`.
---@param key string
---@param session_id string
function M.rename_progress(key, session_id)
  if shown[key] ~= nil then
    shown[session_id] = shown[session_id] or shown[key]
    shown[key] = nil
  end
end

--- The session ended: its progress record (to be replaced by the result), forgotten here.
---@param session_id string
---@return any
function M.end_progress(session_id)
  local rec = shown[session_id]
  shown[session_id] = nil
  return rec ~= true and rec or nil
end

--- The user is not typing text or a command line: not in Insert, Replace, Command-line or
--- Terminal mode (where a prompt would take the keys meant for the buffer).
---@return boolean
function M.idle()
  return vim.api.nvim_get_mode().mode:match('^[iRct]') == nil
end

--- Run `fn` soon, but only once the user is out of Insert/Replace/Command-line/Terminal mode
--- (a prompt opened while typing would swallow the keys typed next).
---@param fn fun()
function M.when_idle(fn)
  vim.schedule(function()
    if M.idle() then
      fn()
      return
    end
    vim.api.nvim_create_autocmd('ModeChanged', {
      once = true,
      callback = function()
        M.when_idle(fn)
      end,
    })
  end)
end

--- vim.ui.select, once the user is not typing.
---@param items any[]
---@param opts table
---@param on_choice fun(item: any|nil, idx: integer|nil)
function M.select(items, opts, on_choice)
  M.when_idle(function()
    vim.ui.select(items, opts, on_choice)
  end)
end

return M

--- :checkhealth pair_lsp — server found, version, providers configured, keys present (yes/no).
local M = {}

local KEY_ENV = { anthropic = 'ANTHROPIC_API_KEY', openai = 'OPENAI_API_KEY', ['openai-chat'] = 'OPENAI_API_KEY' }
local DEFAULTS = { worker = 'openai', reviewer = 'anthropic' }

local function role(settings, name)
  local r = settings[name]
  if type(r) == 'string' then
    local provider, model = r:match('^([^:]+):?(.*)$')
    return { provider = provider, model = model }
  end
  return type(r) == 'table' and r or {}
end

function M.check()
  local config = require('pair_lsp.config')
  vim.health.start('pair-lsp server')
  if vim.fn.has('nvim-0.11') == 0 then
    vim.health.error('Neovim 0.11 or newer is required (vim.lsp.config / vim.lsp.enable)')
  else
    vim.health.ok('Neovim ' .. tostring(vim.version()))
  end
  local cmd = config.cmd()
  if vim.fn.executable(cmd[1]) == 0 then
    vim.health.error(string.format("server command '%s' not found", cmd[1]), {
      "pip install pair-lsp (or set vim.g.pair_lsp = { cmd = { 'path/to/pair-lsp', 'serve' } })",
    })
    return
  end
  local version_cmd = vim.list_slice(cmd, 1, #cmd - 1)
  table.insert(version_cmd, '--version')
  local out = vim.system(version_cmd, { text = true }):wait(15000)
  if out.code == 0 then
    vim.health.ok(string.format('%s (%s)', vim.trim(out.stdout), table.concat(cmd, ' ')))
  else
    vim.health.error(string.format('`%s` failed: %s', table.concat(version_cmd, ' '), vim.trim(out.stderr or '')))
  end
  local attached = vim.lsp.get_clients({ name = 'pair_lsp' })
  if #attached > 0 then
    vim.health.ok(string.format('running: %d client(s)', #attached))
  else
    vim.health.info("not running in this session (vim.lsp.enable('pair_lsp') starts it on the next buffer)")
  end

  vim.health.start('pair-lsp providers')
  local settings = config.settings()
  for _, name in ipairs({ 'worker', 'reviewer' }) do
    local r = role(settings, name)
    local provider = r.provider or DEFAULTS[name]
    local model = (r.model and r.model ~= '') and r.model or '(default)'
    local where = r.baseUrl and (' at ' .. r.baseUrl) or ''
    if provider == 'local' then
      vim.health.ok(string.format('%s: local:%s%s (no key needed)', name, model, where))
    else
      local env = r.apiKeyEnv or KEY_ENV[provider]
      local has_key = r.apiKeyCommand ~= nil or (env ~= nil and (vim.env[env] or '') ~= '')
      local msg = string.format('%s: %s:%s%s · key: %s', name, provider, model, where, has_key and 'yes' or 'no')
      if has_key or r.baseUrl then
        vim.health.ok(msg)
      else
        vim.health.warn(msg, {
          string.format(
            'export %s=... (or set apiKeyCommand); without a key the offline local model is used if installed',
            env or 'the key'
          ),
        })
      end
    end
  end
end

return M

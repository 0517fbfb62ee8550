if vim.g.loaded_pair_lsp then
  return
end
vim.g.loaded_pair_lsp = true

vim.api.nvim_create_user_command('Pair', function(opts)
  require('pair_lsp').run(opts)
end, {
  nargs = '*',
  range = true,
  desc = 'pair-lsp: [instruction] | file | review | changes | steer | proceed | accept | reject | apply | preview | … (:help :Pair)',
  complete = function(arglead, cmdline)
    return require('pair_lsp').complete(arglead, cmdline)
  end,
})

-- redraw statuslines that show require('pair_lsp').statusline() as sessions progress
vim.api.nvim_create_autocmd('User', {
  pattern = { 'PairStatus', 'PairResult' },
  callback = function()
    vim.cmd.redrawstatus()
  end,
})

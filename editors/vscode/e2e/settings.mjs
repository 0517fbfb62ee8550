// The Settings UI for the extension: provider and model first; baseUrl and apiKeyEnv editable in
// place (a text box, not only "Edit in settings.json").
import { open, report, scenario, sleep } from './lib.mjs';

async function search(editor, query) {
  const page = editor.page;
  // the search box has the focus when the settings editor opens, and keeps it
  await page.keyboard.press('Control+A');
  await page.keyboard.type(query);
  await sleep(2500);
  return page.locator('.settings-editor .setting-item-contents').evaluateAll((nodes) =>
    nodes.map((n) => ({
      title: `${n.querySelector('.setting-item-category')?.textContent ?? ''}${n.querySelector('.setting-item-label')?.textContent ?? ''}`.trim(),
      textBox: !!n.querySelector('.setting-item-control input, .setting-item-control textarea'),
      editInJson: !!n.querySelector('.edit-in-settings-button'),
      description: (n.querySelector('.setting-item-description')?.textContent ?? '').trim(),
    })));
}

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  await sleep(3000);
  await editor.palette('Preferences: Open Settings (UI)');
  await editor.page.locator('.settings-editor').waitFor({ timeout: 30000 });
  await sleep(2000);
  report.all = await search(editor, '@ext:pair-lsp.pair-lsp ');
  await editor.shot('1-settings');
  report.baseUrl = await search(editor, '@ext:pair-lsp.pair-lsp baseUrl');
  await editor.shot('2-base-url');
  report.apiKeyEnv = await search(editor, '@ext:pair-lsp.pair-lsp apiKeyEnv');
});

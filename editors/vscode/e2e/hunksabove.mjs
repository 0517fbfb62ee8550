// The inline diff stays right while the user edits: two lines typed above the target while it
// is shown; the hunks follow (re-fetched); hunks 1 and 3 accepted, 2 rejected: byte-exact. With
// pair.inlineDiff.live the worker's candidate shows while the reviewer still reads it (no
// Accept yet). The preview (diff tab) has Accept / Reject in its title bar. Closing the file
// clears the view; "Pair: Show Proposal Inline" shows it again.
import fs from 'node:fs';
import path from 'node:path';
import { WORKSPACE, env, log, open, report, scenario, sleep } from './lib.mjs';

const FILE = path.join(WORKSPACE, 'stats.py');
const expected = JSON.parse(fs.readFileSync(env.PAIR_E2E_HUNKS, 'utf8'));
const hunkRows = (lenses) => lenses.filter((row) => row.some((t) => /Accept hunk/.test(t)));

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  await editor.openFile('stats.py');
  await sleep(6000);
  await editor.pairOnSelection(4, 8, 'three small fixes');
  // live: the candidate while the session runs, read-only
  report.liveLenses = await editor.waitForCodeLenses((l) => l.filter((row) =>
    row.some((t) => /running/.test(t))).length === 3, 60000);
  report.liveDecorated = await editor.decoratedLines();
  await editor.shot('0-live');
  await editor.waitForToast(/approved/, 120000);
  await editor.waitForCodeLenses((l) => hunkRows(l).length === 3);
  await editor.hideNotifications();

  // the preview: a diff tab with Accept / Reject in its title bar
  await editor.palette('Pair: Preview Proposal');
  await page.locator('.monaco-diff-editor').first().waitFor({ timeout: 20000 });
  await sleep(2000);
  report.previewTitleActions = await page.locator('.editor-actions .action-label').evaluateAll((nodes) =>
    nodes.map((n) => n.getAttribute('aria-label') ?? n.getAttribute('title') ?? ''));
  await editor.shot('1-preview');
  report.diffLines = await page.locator('.monaco-diff-editor .view-line').count();
  report.decoratedInPreview = await editor.decoratedLines();
  await page.keyboard.press('Control+W');
  await sleep(1000);

  // closing the file clears the view; "Pair: Show Proposal Inline" brings it back
  await editor.editorText().click();
  await page.keyboard.press('Control+W');
  await sleep(1500);
  await editor.openFile('stats.py');
  await sleep(1500);
  report.lensesAfterReopen = await editor.codeLenses();
  report.decoratedAfterReopen = await editor.decoratedLines();
  await editor.palette('Pair: Show Proposal Inline');
  await editor.waitForCodeLenses((l) => hunkRows(l).length === 3);

  // typing above the target while the inline diff is shown
  await editor.editorText().click();
  await editor.gotoLine(2);
  await page.keyboard.press('Home');
  await page.keyboard.type('# added by the user');
  await page.keyboard.press('Enter');
  await page.keyboard.type('# and another line');
  await page.keyboard.press('Enter');
  await sleep(1500); // the re-fetch after typing
  report.lensesAfterTyping = await editor.waitForCodeLenses((l) => hunkRows(l).length === 3);
  report.decoratedAfterTyping = await editor.decoratedLines();
  await editor.shot('2-after-typing');

  await editor.clickCodeLens('Accept hunk 1/3', 'Accept hunk 1/3');
  await editor.waitForCodeLenses((l) => hunkRows(l).length === 2);
  await editor.clickCodeLens('Accept hunk 2/3', 'Reject with reason');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible', timeout: 10000 });
  await box.fill(expected.reason);
  await page.keyboard.press('Enter');
  await editor.waitForCodeLenses((l) => hunkRows(l).length === 1);
  await editor.clickCodeLens('Accept hunk 3/3', 'Accept hunk 3/3');
  await editor.waitForCodeLenses((l) => hunkRows(l).length === 0);
  await editor.editorText().click();
  report.afterDecisions = await editor.saveAndExpect(FILE, expected.afterDecisions);
  log('file has the expected text');
  await editor.shot('3-decided');
});

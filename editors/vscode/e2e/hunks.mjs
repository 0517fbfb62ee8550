// The inline diff, hunk by hunk (issue 14). A 3-hunk proposal ends approved; it shows in the
// editor itself (replaced lines highlighted, the proposed ones beside them, a CodeLens per hunk);
// hunk 1 is accepted from its CodeLens, hunk 2 rejected with a reason from its CodeLens, hunk 3
// accepted with the keys (next hunk, accept hunk). The file is byte-exact what was accepted; the
// notification's "Continue" runs the worker again (the Python test reads what it was sent), its
// revision shows inline and goes with "Discard"; one undo reverts hunk 3 only, the next hunk 1. Expected texts: PAIR_E2E_HUNKS (a JSON file).
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
  await sleep(6000); // the extension's server starts
  await editor.pairOnSelection(4, 8, 'three small fixes');
  await editor.waitForToast(/approved/, 120000);
  report.lensesAtStart = await editor.waitForCodeLenses((l) => hunkRows(l).length === 3);
  report.decorationsAtStart = await editor.decorationTexts();
  report.fileUntouched = fs.readFileSync(FILE, 'utf8') === expected.original;
  await editor.hideNotifications();
  await editor.editorText().click();
  await editor.gotoLine(1);
  await sleep(500);
  await editor.shot('1-inline-diff');

  // hunk 1: the CodeLens's Accept
  await editor.clickCodeLens('Accept hunk 1/3', 'Accept hunk 1/3');
  report.lensesAfterAccept1 = await editor.waitForCodeLenses((l) =>
    hunkRows(l).length === 2 && !l.flat().includes('Accept hunk 1/3'));
  log('hunk 1 accepted');

  // hunk 2: Reject with reason…, the reason typed in the input box
  await editor.clickCodeLens('Accept hunk 2/3', 'Reject with reason');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible', timeout: 10000 });
  await box.fill(expected.reason);
  await editor.shot('2-reject-with-reason');
  await page.keyboard.press('Enter');
  report.lensesAfterReject2 = await editor.waitForCodeLenses((l) => hunkRows(l).length === 1);
  report.decorationsAfterReject2 = await editor.decorationTexts();
  log('hunk 2 rejected');

  // hunk 3: the keys (Alt+F5 next hunk, Ctrl+Alt+Y accept the hunk at the cursor)
  await editor.editorText().click();
  await editor.gotoLine(1);
  await page.keyboard.press('Alt+F5');
  await sleep(300);
  await page.keyboard.press('Control+Alt+Y');
  report.lensesAfterAccept3 = await editor.waitForCodeLenses((l) => hunkRows(l).length === 0);
  report.decorationsAfterAll = await editor.decorationTexts();
  log('hunk 3 accepted');
  await editor.editorText().click();
  report.afterDecisions = await editor.saveAndExpect(FILE, expected.afterDecisions);
  log('file has the expected text');

  // every hunk decided, one rejected: the worker may revise, hearing why
  const toast = await editor.waitForToast(/rejected/, 20000);
  report.decidedToast = await toast.innerText();
  await editor.shot('3-decided');
  await toast.locator('.monaco-button', { hasText: 'Continue' }).first().click();
  log('continue');
  // the revision comes back inline (one hunk)
  report.lensesAfterContinue = await editor.waitForCodeLenses((l) => l.flat().includes('Accept hunk 1/1'), 120000);
  report.decorationsAfterContinue = await editor.decorationTexts();
  await editor.shot('4-continued');
  // the notification's Discard: the view goes with the proposal
  const discard = page.locator('.notification-toast', { hasText: 'approved after 2 rounds' })
    .locator('.monaco-button', { hasText: 'Discard' }).first();
  if (await discard.isVisible().catch(() => false)) {
    await discard.click();
  } else { // the toast has gone: the notification center keeps it
    await editor.allNotifications();
    await editor.clickNotificationButton('approved after 2 rounds', 'Discard');
  }
  report.lensesAfterDiscard = await editor.waitForCodeLenses((l) => hunkRows(l).length === 0, 20000);
  report.decorationsAfterDiscard = await editor.decorationTexts();

  // undo: one step per accepted hunk (3 first, then 1)
  await editor.editorText().click();
  await page.keyboard.press('Control+Z');
  report.afterUndo1 = await editor.saveAndExpect(FILE, expected.afterUndo1);
  await page.keyboard.press('Control+Z');
  report.afterUndo2 = await editor.saveAndExpect(FILE, expected.original);
  log('undo per hunk');
  await editor.shot('5-undone');
});

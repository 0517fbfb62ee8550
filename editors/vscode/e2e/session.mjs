// A whole session as the user sees it: "Pair on selection…" from Ctrl+. asks for the instruction
// (Esc starts nothing); the palette's Pair on Selection runs with a progress notification and ONE
// status bar item; the finding shows in Problems and is gone once the approved edit resolves it;
// ONE notification at the end; "Apply approved edit" is the first action in Ctrl+.; applying it
// gives the expected text. What was seen goes to report.json; the Python test asserts on it.
import fs from 'node:fs';
import path from 'node:path';
import { WORKSPACE, env, log, open, report, scenario, sleep, waitForFile } from './lib.mjs';

const TARGET = path.join(WORKSPACE, 'example.py');
const EXPECTED = fs.readFileSync(env.PAIR_E2E_EXPECTED, 'utf8');

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  await editor.openFile('example.py');
  await sleep(8000); // the extension's server starts

  // 1. "Pair on selection…" (Ctrl+. on a selection) asks for the instruction; Esc aborts
  await editor.selectLines(4, 7);
  const onSelection = await editor.codeActions('Pair on selection', { retry: () => editor.selectLines(4, 7) });
  report.actionsOnSelection = onSelection;
  await editor.pickCodeAction('Pair on selection');
  const box = page.locator('.quick-input-widget input');
  try {
    await box.waitFor({ state: 'visible', timeout: 10000 });
    report.pairOnSelectionAsked = true;
    await editor.shot('1-pair-on-selection-asks');
    await page.keyboard.press('Escape');
  } catch {
    report.pairOnSelectionAsked = false;
  }
  await sleep(1500);

  // 2. the palette command, with an instruction
  await editor.editorText().click();
  await editor.selectLines(4, 7);
  await editor.palette('Pair: Pair on Selection');
  await box.waitFor({ state: 'visible', timeout: 20000 });
  await box.fill('fix it');
  await page.keyboard.press('Enter');
  log('pair started');
  await page.keyboard.press('Control+Shift+M'); // Problems panel open while it runs

  // 3. while it runs: how many status bar items speak of Pair, is there a progress notification
  report.statusItemsSeen = [];
  report.maxStatusItems = 0;
  report.progressToastSeen = false;
  report.findingSeenWhileRunning = false;
  const ended = page.locator('.notification-toast', { hasText: /approved|failed|could not|cancelled/ }).first();
  for (let i = 0; i < 400 && !(await ended.isVisible().catch(() => false)); i++) {
    const items = await editor.pairStatusItems();
    report.maxStatusItems = Math.max(report.maxStatusItems, items.length);
    if (items.length && report.statusItemsSeen.length < 20) report.statusItemsSeen.push(items);
    const toasts = await editor.toasts();
    if (toasts.some((t) => /Pair/.test(t.message) && t.buttons.includes('Cancel'))) {
      if (!report.progressToastSeen) await editor.shot('2-progress');
      report.progressToastSeen = true;
    }
    if (!report.findingSeenWhileRunning) {
      const rows = await page.locator('.markers-panel .monaco-list-row', { hasText: 'empty list' }).count();
      if (rows) {
        report.findingSeenWhileRunning = true;
        await editor.shot('3-finding-while-running');
      }
    }
    await sleep(250);
  }
  await ended.waitFor({ timeout: 5000 });
  report.endToast = await ended.innerText();
  log('ended:', report.endToast);
  await sleep(2500); // anything that would come twice comes now
  report.toastsAtEnd = await editor.toasts();
  await editor.shot('4-approved');
  report.problemsAfterApproval = await editor.problems();
  report.statusItemsAtEnd = await editor.pairStatusItems();

  // 4. Ctrl+. on a line of the approved edit, no selection: the approved edit first
  await editor.editorText().click();
  await editor.gotoLine(6);
  report.actionsOnLine = await editor.codeActions('Apply approved edit', { retry: () => editor.gotoLine(6) });
  report.focusedAction = await page.locator('.action-widget .monaco-list-row.action.focused').first()
    .innerText().catch(() => '');
  await editor.shot('5-code-actions');
  await editor.pickCodeAction('Apply approved edit');
  await page.keyboard.press('Control+S');
  await waitForFile(TARGET, (text) => text === EXPECTED);
  log('file has the expected text');
  await sleep(1500);
  report.problemsAfterApply = await editor.problems();
  await editor.shot('6-applied');
  report.notifications = await editor.allNotifications();
  await editor.shot('7-notification-center');
});

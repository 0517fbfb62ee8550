// Not approved: the reviewer still has a finding when the rounds run out. ONE notification that
// counts the open findings; "Pair: Restart Server" says what it would drop and asks (Cancel keeps
// it); "Apply unapproved…" from the notification center (an older notification's button, after
// the toast has gone) asks in a modal that says the edit was NOT approved, then applies it.
import fs from 'node:fs';
import path from 'node:path';
import { WORKSPACE, log, open, report, scenario, sleep, waitForFile } from './lib.mjs';

const TARGET = path.join(WORKSPACE, 'example.py');

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  const original = fs.readFileSync(TARGET, 'utf8');
  await editor.openFile('example.py');
  await sleep(6000);
  await editor.selectLines(4, 7);
  await editor.palette('Pair: Pair on Selection');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible', timeout: 20000 });
  await box.fill('fix it');
  await page.keyboard.press('Enter');
  log('pair started');
  await editor.waitForToast(/not approved/, 120000);
  await sleep(3000); // a second toast would show now
  report.toastsAtEnd = await editor.toasts();
  await editor.shot('1-not-approved');
  await editor.hideNotifications();

  // Restart Server: asks, since findings and a proposal would be lost; Cancel keeps them
  await editor.palette('Pair: Restart Server');
  try {
    const { message } = await editor.dialog(8000);
    report.restartQuestion = message;
    await editor.shot('2-restart-asks');
    await editor.clickDialogButton('Cancel');
  } catch {
    report.restartQuestion = null;
  }
  await sleep(1000);
  report.problemsAfterCancel = await editor.problems();

  // the notification center still holds the result; its "Apply unapproved…" asks, then applies
  report.notifications = await editor.allNotifications();
  await editor.clickNotificationButton('not approved', 'Apply unapproved');
  const { message } = await editor.dialog(10000);
  report.unapprovedQuestion = message;
  await editor.shot('3-unapproved-asks');
  await editor.clickDialogButton('Apply unapproved edit');
  await sleep(1000);
  await editor.editorText().click();
  await page.keyboard.press('Control+S');
  await waitForFile(TARGET, (text) => text !== original, 20000);
  report.appliedText = fs.readFileSync(TARGET, 'utf8');
  await sleep(1000);
  report.problemsAfterApply = await editor.problems();
  await editor.shot('4-unapproved-applied');
});

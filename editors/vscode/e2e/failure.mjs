// A failure as the user sees it: the reviewer cannot be reached. ONE error notification that
// names the URL and offers a way forward (Retry, Open Settings, the worker's edit as an unapproved
// proposal); "Pair: Restart Server" asks before dropping that proposal; "Apply unapproved…" asks
// in a modal that says the edit was NOT approved, then applies it (from the notification center,
// after the toast has gone: an older notification's button still works).
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
  await sleep(4000);
  await editor.selectLines(4, 7);
  await editor.palette('Pair: Pair on Selection');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible', timeout: 20000 });
  await box.fill('fix it');
  await page.keyboard.press('Enter');
  log('pair started');

  await editor.waitForToast(/Pair: the (worker|reviewer)|Pair .*failed/, 120000);
  await sleep(3000); // a second toast would show now
  report.toastsAtEnd = await editor.toasts();
  await editor.shot('1-failure');
  await editor.hideNotifications();

  // Restart Server: asks, since a proposal would be lost; Cancel keeps it
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

  // the notification center still holds the failure; its "Apply unapproved…" asks, then applies
  report.notifications = await editor.allNotifications();
  await editor.shot('3-notification-center');
  await editor.clickNotificationButton('Pair', 'Apply unapproved');
  const { message } = await editor.dialog(10000);
  report.unapprovedQuestion = message;
  await editor.shot('4-unapproved-asks');
  await editor.clickDialogButton('Apply unapproved edit');
  await editor.editorText().click();
  await page.keyboard.press('Control+S');
  await waitForFile(TARGET, (text) => text !== original, 20000);
  report.appliedText = fs.readFileSync(TARGET, 'utf8');
  await editor.shot('5-unapproved-applied');
});

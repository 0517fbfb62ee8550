// "Pair: Fix Changes' Findings" (issue 11): the worker fixes what the reviewer finds in the
// uncommitted changes of two files (one of them open in the editor); ONE notification at the
// end with Apply / Preview; Apply writes both files' edits (the open one at its version), Save
// All puts them on disk.
import path from 'node:path';
import { WORKSPACE, log, open, report, scenario, sleep, waitForFile } from './lib.mjs';

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  await editor.openFile('util.js');
  await sleep(6000);
  await editor.palette("Pair: Fix Changes' Findings");
  const scope = await editor.quickInput();
  report.scopes = scope.rows;
  await page.keyboard.press('Enter'); // Uncommitted changes
  await editor.quickInput();
  await page.locator('.quick-input-widget input').fill('fix what the reviewer finds');
  await page.keyboard.press('Enter');
  log('fix started');
  const end = await editor.waitForToast(/edits to|not approved|failed|could not/, 120000);
  await sleep(2500);
  report.toastsAtEnd = await editor.toasts();
  report.endToast = await end.innerText();
  await editor.shot('1-fixed');
  await editor.clickNotificationButton('edits to', 'Apply');
  await sleep(1500);
  await editor.palette('File: Save All');
  await waitForFile(path.join(WORKSPACE, 'src', 'app.py'), (text) => text?.includes('if prices else 0'));
  await waitForFile(path.join(WORKSPACE, 'web', 'util.js'), (text) => text?.includes("'hi ' + name;"));
  await editor.shot('2-applied');
  report.notifications = await editor.allNotifications();
});

// A failure as the user sees it: the reviewer cannot be reached. ONE error notification that
// names the URL and offers a way forward (Retry, Open Settings, and the worker's finished edit as
// an unapproved proposal).
import { log, open, report, scenario, sleep } from './lib.mjs';

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  await editor.openFile('example.py');
  await sleep(6000);
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
  report.notifications = await editor.allNotifications();
  await editor.shot('2-notification-center');
});

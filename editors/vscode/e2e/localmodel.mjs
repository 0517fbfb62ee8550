// No API key for the worker: the server falls back to the small offline model. The user is told
// once, with a "Set API Key" button, instead of a weak model running silently. The session is
// cancelled as soon as the notice shows (the local model is slow).
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
  try {
    await editor.waitForToast('offline local model', 60000);
    report.noticeShown = true;
  } catch {
    report.noticeShown = false;
  }
  await editor.shot('1-local-model-notice');
  await editor.palette('Pair: Cancel');
  await editor.waitForToast(/cancelled|failed|approved/, 120000).catch(() => {});
  await sleep(2000);
  report.notifications = await editor.allNotifications();
  await editor.shot('2-notification-center');
});

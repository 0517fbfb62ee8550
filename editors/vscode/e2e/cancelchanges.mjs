// Cancelling a change review (issue 11): the reviewer is slow; Cancel on the progress
// notification reaches the server (pair.cancel with the session's id, and $/cancelRequest), so
// no findings land in Problems later and no end notification follows the user's Cancel.
import { env, log, open, report, scenario, sleep } from './lib.mjs';

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  await sleep(6000);
  await editor.palette('Pair: Review Uncommitted Changes');
  const progress = page.locator('.notification-toast', { hasText: 'reviewing the uncommitted changes' }).first();
  await progress.waitFor({ timeout: 60000 });
  // the reviewer has been asked (its reply is slow): then Cancel
  const stats = async () => (await fetch(`${env.PAIR_E2E_FAKE}/_fake/stats`)).json();
  for (let i = 0; i < 240 && (await stats()).open_requests < 1; i++) await sleep(250);
  report.statusBeforeCancel = await editor.pairStatusItems();
  report.openBeforeCancel = (await stats()).open_requests;
  await progress.locator('.monaco-button', { hasText: 'Cancel' }).first().click();
  log('cancelled');
  await progress.waitFor({ state: 'hidden', timeout: 20000 });
  // past the time the reviewer's reply would have come (the fake has finished with it)
  for (let i = 0; i < 240 && (await stats()).open_requests > 0; i++) await sleep(250);
  await sleep(4000);
  report.problems = await editor.problems();
  report.statusAfter = await editor.pairStatusItems();
  await editor.shot('1-after-cancel');
  report.notifications = await editor.allNotifications();
});

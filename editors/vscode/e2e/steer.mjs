// Steering (issue 12): while a session runs (the worker's first turn is slow), "Pair: Steer
// Session…" asks for a note (one running session: no pick) and sends it; the Python test checks
// that the worker's next request holds it.
import { env, log, open, report, scenario, sleep } from './lib.mjs';

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  await editor.openFile('example.py');
  await sleep(6000);
  await editor.pairOnSelection('fix it');
  // running: the status bar item says so
  for (let i = 0; i < 80 && !(await editor.pairStatusItems()).length; i++) await sleep(250);
  report.statusWhileRunning = await editor.pairStatusItems();
  // its tooltip says who is at work
  await page.locator('.part.statusbar .statusbar-item', { hasText: 'Round 1/' }).first().hover();
  const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'Now:' }).first();
  report.tooltip = await hover.innerText({ timeout: 10000 }).catch(() => '');
  await editor.shot('0-tooltip');
  await page.mouse.move(700, 400);
  await editor.palette('Pair: Steer Session…');
  const asked = await editor.quickInput();
  report.steerAsked = asked.prompt;
  await page.locator('.quick-input-widget input').fill(env.PAIR_E2E_NOTE);
  await editor.shot('1-steer');
  await page.keyboard.press('Enter');
  log('note sent');
  const end = await editor.waitForToast(/approved|failed|could not|cancelled/, 120000);
  report.endToast = await end.innerText();
  await editor.shot('2-end');
});

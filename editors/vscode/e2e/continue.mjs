// Continuing (issue 12): a session ends not approved after its one round; "Pair: Continue
// Session" (one ended session: no pick) asks how many more rounds and for an optional
// instruction, and the session goes on under the same id, its rounds counted on.
import { env, log, open, report, scenario, sleep } from './lib.mjs';

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  await editor.openFile('example.py');
  await sleep(6000);
  await editor.pairOnSelection('fix it');
  const first = await editor.waitForToast(/not approved|failed|could not/, 120000);
  report.firstEnd = await first.innerText();
  log('first end:', report.firstEnd);
  await sleep(1500);
  await editor.palette('Notifications: Clear All Notifications');

  await editor.palette('Pair: Continue Session');
  const rounds = await editor.quickInput();
  report.roundsAsked = rounds.rows;
  await editor.shot('1-rounds');
  await page.keyboard.press('Enter'); // the first: 2 more rounds
  const instruction = await editor.quickInput();
  report.instructionAsked = instruction.prompt;
  await page.locator('.quick-input-widget input').fill(env.PAIR_E2E_NOTE);
  await page.keyboard.press('Enter');
  log('continued');
  const second = await editor.waitForToast(/Pair: approved|not approved|failed|could not/, 120000);
  report.secondEnd = await second.innerText();
  await editor.shot('2-end');
});

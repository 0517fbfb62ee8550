// The plan step with planApproval = "ask" (issue 12): the session stops after its reviewed plan;
// the plan opens as a Markdown document with Proceed / Edit / Cancel. "Edit" focuses it, the
// user adds a line, "Proceed": the Python test checks that the worker's next request holds the
// edited plan.
import { env, log, open, report, scenario, sleep } from './lib.mjs';

const text = (s) => s.replace(/\u00a0/g, ' ');

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  await editor.openFile('example.py');
  await sleep(6000);
  await editor.pairOnSelection('fix it');
  await editor.waitForToast(/plan is ready/, 120000);
  await sleep(2000);
  report.planToasts = await editor.toasts();
  report.planTab = (await editor.tabs()).active.replace(/\s+/g, '');
  report.planText = text(await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().innerText());
  const requests = await (await fetch(`${env.PAIR_E2E_FAKE}/_fake/requests`)).json();
  report.workerRequestsWhileWaiting = requests.filter((r) => r.model === 'vsc-worker').length;
  report.statusWhileWaiting = await editor.pairStatusItems();
  await editor.shot('1-plan-asks');

  await editor.clickNotificationButton('plan is ready', 'Edit');
  await sleep(1500);
  await page.keyboard.press('Control+End');
  await page.keyboard.type(env.PAIR_E2E_EDIT);
  await sleep(500);
  report.editedText = text(await page.locator('.editor-group-container.active .monaco-editor .view-lines').first()
    .innerText());
  await editor.shot('2-plan-edited');
  await editor.waitForToast(/edit the plan/, 20000);
  await editor.clickNotificationButton('edit the plan', 'Proceed');
  log('proceeded');
  const end = await editor.waitForToast(/Pair: approved|not approved|failed|could not|cancelled/, 120000);
  report.endToast = await end.innerText();
  await editor.shot('3-end');
});

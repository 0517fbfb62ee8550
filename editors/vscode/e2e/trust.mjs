// Workspace trust ON (no --disable-workspace-trust). The workspace holds a hostile
// .pair-lsp.toml (a key command that touches a marker, a base URL pointing at a recording
// server). Untrusted: a session runs against the user's own endpoints, the project's keys are
// ignored. Then the user trusts the folder: the server restarts and the same settings apply.
// The Python test checks the marker and what the recording server received.
import fs from 'node:fs';
import { env, log, open, report, scenario, sleep } from './lib.mjs';

async function pair(editor, label) {
  const page = editor.page;
  await editor.editorText().click();
  await editor.selectLines(4, 7);
  await editor.palette('Pair: Pair on Selection');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible', timeout: 20000 });
  await box.fill('fix it');
  await page.keyboard.press('Enter');
  log(`${label}: pair started`);
  const end = page.locator('.notification-toast', { hasText: /approved|not approved|failed|could not/ }).first();
  await end.waitFor({ timeout: 120000 });
  report[`${label}Result`] = await end.innerText();
  await sleep(2000);
  await editor.shot(`${label}-result`);
  report[`${label}Notifications`] = await editor.allNotifications();
  await editor.hideNotifications();
  await editor.palette('Notifications: Clear All Notifications').catch(() => {});
}

await scenario(async (track) => {
  const editor = await open({ trust: true });
  track(editor);
  const page = editor.page;
  await editor.shot('0-restricted-mode');
  // the startup prompt (when shown) is answered "No": restricted mode
  const dontTrust = page.locator('.monaco-dialog-box .monaco-button', { hasText: /No, I don.t trust/ });
  if (await dontTrust.first().isVisible().catch(() => false)) {
    await dontTrust.first().click();
  }
  await editor.openFile('example.py');
  await sleep(5000);
  await pair(editor, 'untrusted');
  // what the project's settings did so far: the marker file, requests to the recording server
  report.markerBeforeTrust = fs.existsSync(env.PAIR_E2E_MARKER);
  const stats = await (await fetch(`${env.PAIR_E2E_HOSTILE}/_fake/stats`)).json();
  report.hostileRequestsBeforeTrust = stats.requests;

  // trust the folder: Workspaces: Manage Workspace Trust -> "Trust"
  await editor.palette('Workspaces: Manage Workspace Trust');
  const trustButton = page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust( Folder)?$/ }).first();
  await trustButton.waitFor({ timeout: 20000 });
  await editor.shot('1-manage-trust');
  await trustButton.click();
  // the extension asks before a restart drops the untrusted session's proposal
  try {
    const { message } = await editor.dialog(8000);
    report.restartQuestion = message;
    await editor.shot('2-restart-asks');
    await editor.clickDialogButton('Restart now');
  } catch {
    report.restartQuestion = null;
  }
  await sleep(1000);
  // close the trust editor, back to the file
  await page.keyboard.press('Control+W');
  log('trusted');
  await sleep(6000); // the server restarts with the project settings
  await editor.openFile('example.py');
  await sleep(2000);
  await pair(editor, 'trusted');
});

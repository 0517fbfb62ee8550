// First run on a machine where the extension host's PATH has no pair-lsp and no Python that can
// import it (a desktop launch does not see the shell's PATH): ONE message with the fix, never the
// language client's "Pending response rejected" errors. With a bundled server in the .vsix, a
// plain python3 (>= 3.11) is enough and nothing is shown.
import { open, report, scenario, sleep } from './lib.mjs';

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  await editor.openFile('example.py');
  await sleep(15000); // probing interpreters, starting (or not) the server
  report.toasts = await editor.toasts();
  await editor.shot('1-first-run');
  report.notifications = await editor.allNotifications();
  report.statusItems = await editor.pairStatusItems();
  await editor.shot('2-notification-center');
});

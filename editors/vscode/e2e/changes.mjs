// Reviewing the git change (issue 11): a repository with uncommitted changes in two files (and a
// binary file, skipped). The Source Control view's title menu offers the change commands; "Pair:
// Review Uncommitted Changes" from the palette shows a progress notification, then the findings
// of BOTH files in the Problems panel (neither file opened), and ONE notification at the end that
// names the skipped file. "Against Branch…" lists the repository's branches.
import { log, open, report, scenario, sleep } from './lib.mjs';

/** The Source Control view's "..." menu: the labels of its "Pair" submenu. */
async function scmMenu(editor) {
  const page = editor.page;
  await page.keyboard.press('Control+Shift+G');
  // the git extension has found the repository: its changes are listed
  await page.locator('.scm-view .monaco-list-row', { hasText: 'app.py' }).first().waitFor({ timeout: 60000 });
  await sleep(1000);
  // the "Changes" view's title bar (scm/title: the repository's actions), shown on hover
  const header = page.locator('.part.sidebar .pane-header', { hasText: 'Changes' }).first();
  await header.hover();
  await sleep(500);
  await header.locator('.action-label[aria-label*="More Actions"]').first().click();
  // our commands are in its "Pair" submenu
  const submenu = page.locator('.context-view .monaco-menu .action-item', { hasText: /^Pair$/ }).first();
  await submenu.waitFor({ timeout: 10000 });
  await submenu.hover();
  await sleep(1000);
  await page.locator('.context-view .action-item', { hasText: 'Review Uncommitted Changes' }).first()
    .waitFor({ timeout: 10000 });
  const labels = await page.locator('.context-view .action-item').allInnerTexts(); // menu and submenu
  await editor.shot('0-scm-menu');
  await page.keyboard.press('Escape');
  return labels.map((l) => l.trim()).filter(Boolean);
}

await scenario(async (track) => {
  const editor = await open();
  track(editor);
  const page = editor.page;
  await sleep(6000); // the extension's server starts
  report.scmMenu = await scmMenu(editor).catch((error) => [`failed: ${error}`]);
  log('scm menu:', report.scmMenu);

  await editor.palette('Pair: Review Uncommitted Changes');
  log('review started');
  const end = page.locator('.notification-toast', { hasText: /Reviewed|failed|could not/ }).first();
  report.progressSeen = false;
  for (let i = 0; i < 400 && !(await end.isVisible().catch(() => false)); i++) {
    const toasts = await editor.toasts();
    if (!report.progressSeen && toasts.some((t) => /reviewing the uncommitted changes/.test(t.message))) {
      report.progressSeen = true;
      await editor.shot('1-progress');
    }
    await sleep(250);
  }
  await end.waitFor({ timeout: 5000 });
  report.endToast = await end.innerText();
  log('ended:', report.endToast);
  await sleep(2500); // anything that would come twice comes now
  report.toastsAtEnd = await editor.toasts();
  report.problems = await editor.problems();
  await sleep(500);
  await editor.shot('2-problems');
  report.openEditors = (await editor.tabs()).all;
  report.notifications = await editor.allNotifications();
  await editor.hideNotifications();

  // "Against Branch…" offers the repository's branches (from VS Code's git extension)
  await editor.palette('Pair: Review Changes Against Branch…');
  report.branches = (await editor.quickInput()).rows;
  await editor.shot('3-branches');
  await page.keyboard.press('Escape');
});

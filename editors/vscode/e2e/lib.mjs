// Helpers for the end-to-end scenarios: a real VS Code (code-server) in headless Chromium,
// driven by playwright-core. Everything it writes goes under PAIR_E2E_WORKDIR (a temp dir):
// workspace/, user/ (code-server's user data, with User/settings.json from the test), ext/,
// shots/ (screenshots), code-server.log, report.json (what the scenario saw).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';

export const env = process.env;
const CACHE = env.PAIR_E2E_CACHE;
const require = createRequire(path.join(CACHE, 'pw', 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');
const CODE_SERVER = path.join(CACHE, 'cs', 'node_modules', '.bin', 'code-server');
export const WORK = env.PAIR_E2E_WORKDIR;
export const WORKSPACE = path.join(WORK, 'workspace');
export const SHOTS = path.join(WORK, 'shots');
fs.mkdirSync(SHOTS, { recursive: true });

export const log = (...args) => console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...args);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What the scenario observed, written to report.json for the Python test to assert on. */
export const report = {};

async function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts code-server (workspace trust as the test asks) and a browser page on the workspace. */
export async function open({ trust = false } = {}) {
  const common = ['--config', path.join(WORK, 'cs-config.yaml'), '--user-data-dir', path.join(WORK, 'user'),
    '--extensions-dir', path.join(WORK, 'ext')];
  fs.writeFileSync(path.join(WORK, 'cs-config.yaml'), 'auth: none\ncert: false\n');
  log('installing', env.PAIR_E2E_VSIX);
  execFileSync(CODE_SERVER, [...common, '--install-extension', env.PAIR_E2E_VSIX], { stdio: 'inherit' });
  const port = await freePort();
  const flags = ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry',
    '--disable-update-check', '--reconnection-grace-time', '10'];
  if (!trust) flags.push('--disable-workspace-trust');
  const server = spawn(CODE_SERVER, [...common, ...flags, WORKSPACE],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const serverLog = fs.createWriteStream(path.join(WORK, 'code-server.log'));
  server.stdout.pipe(serverLog);
  server.stderr.pipe(serverLog);
  const kill = () => {
    try {
      process.kill(-server.pid, 'SIGKILL'); // the whole group: no orphaned extension host
    } catch {
      // already gone
    }
  };
  process.on('exit', kill);
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (i > 300) throw new Error('code-server did not come up');
    await sleep(200);
  }
  const browser = await chromium.launch({
    executablePath: env.PAIR_E2E_CHROMIUM || '/usr/bin/chromium',
    headless: true, // playwright gives each launch a fresh, temporary profile
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(WORKSPACE)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90000 });
  log('workbench up');
  await sleep(3000);
  return new Editor(page, async () => {
    await browser.close().catch(() => {});
    kill();
  });
}

export class Editor {
  constructor(page, close) {
    this.page = page;
    this.close = close;
  }

  async shot(name) {
    await this.page.screenshot({ path: path.join(SHOTS, `${name}.png`) }).catch(() => {});
  }

  async palette(command, { exact = true, attempts = 3 } = {}) {
    const page = this.page;
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 20000 });
      await input.fill(`>${command}`);
      try {
        await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first()
          .waitFor({ timeout: 20000 });
        break;
      } catch (error) {
        // on a busy machine an extension's commands can come late: ask again
        if (attempt >= attempts) throw error;
        await page.keyboard.press('Escape');
        await sleep(2000);
      }
    }
    if (exact) await sleep(300);
    await page.keyboard.press('Enter');
  }

  async openFile(name) {
    const page = this.page;
    // the Explorer's row (Quick Open's file search can take long on a busy machine)
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    try {
      await row.waitFor({ timeout: 30000 });
      await row.dblclick();
    } catch {
      await page.keyboard.press('Control+P');
      const quick = page.locator('.quick-input-widget input');
      await quick.waitFor({ state: 'visible', timeout: 20000 });
      await quick.fill(name);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 60000 });
      await page.keyboard.press('Enter');
    }
    await this.editorText().waitFor({ timeout: 20000 });
    await this.editorText().click();
  }

  editorText() {
    return this.page.locator('.monaco-editor .view-lines').first();
  }

  async gotoLine(line) {
    const page = this.page;
    await page.keyboard.press('Control+G');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10000 });
    await input.fill(`:${line}`);
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: 10000 });
  }

  async selectLines(first, count) {
    await this.gotoLine(first);
    await this.page.keyboard.press('Home');
    for (let i = 0; i < count; i++) await this.page.keyboard.press('Shift+ArrowDown');
  }

  /** Selects lines 4-7 (example.py's function body) and runs "Pair on Selection" with
   *  `instruction`. */
  /** The quick input's prompt (below its box) and its visible rows. */
  async quickInput() {
    const widget = this.page.locator('.quick-input-widget');
    await widget.locator('input').waitFor({ state: 'visible', timeout: 20000 });
    await sleep(400);
    return {
      prompt: (await widget.locator('.quick-input-message').allInnerTexts()).join(' ').trim(),
      rows: await widget.locator('.quick-input-list .monaco-list-row').allInnerTexts(),
    };
  }

  /** The titles of the editor tabs, the active one first. */
  async tabs() {
    const active = await this.page.locator('.tabs-container .tab.active').allInnerTexts();
    const all = await this.page.locator('.tabs-container .tab').allInnerTexts();
    return { active: (active[0] ?? '').trim(), all: all.map((t) => t.trim()) };
  }

  /** Opens the code action menu (Ctrl+.) until a row shows; returns the rows' titles in order. */
  async codeActions(waitFor, { retry } = {}) {
    const page = this.page;
    const rows = page.locator('.action-widget .monaco-list-row.action');
    for (let attempt = 1; attempt <= 5; attempt++) {
      await page.keyboard.press('Control+.');
      try {
        await page.locator('.action-widget .monaco-list-row.action', { hasText: waitFor }).first()
          .waitFor({ timeout: 5000 });
        await sleep(500);
        return await rows.allInnerTexts();
      } catch (error) {
        if (attempt === 5) throw error;
        await page.keyboard.press('Escape');
        if (retry) await retry();
      }
    }
    return [];
  }

  /** Selects lines first..first+count (1-based) and runs "Pair: Pair on Selection" with an instruction. */
  /** "Pair on Selection" on `count` lines from line `first` (default: 7 lines from line 4), with
   * `instruction` typed in the box it asks with: pairOnSelection(instruction) or
   * pairOnSelection(first, count, instruction). */
  async pairOnSelection(...args) {
    const [first, count, instruction] = args.length === 1 ? [4, 7, args[0]] : args;
    await this.editorText().click();
    await this.selectLines(first, count);
    await this.palette('Pair: Pair on Selection');
    const box = this.page.locator('.quick-input-widget input');
    await box.waitFor({ state: 'visible', timeout: 20000 });
    await box.fill(instruction);
    await this.page.keyboard.press('Enter');
    log('pair started');
  }

  /** The CodeLens rows of the editor, top to bottom: [[link text, ...], ...]. */
  async codeLenses() {
    return this.page.locator('.monaco-editor .codelens-decoration').evaluateAll((rows) => rows
      .map((row) => ({ top: row.getBoundingClientRect().top,
        links: [...row.querySelectorAll(':scope > a, :scope > span')]
          .map((n) => (n.textContent ?? '').trim()).filter((t) => t && t !== '|') }))
      .sort((a, b) => a.top - b.top).map((row) => row.links));
  }

  /** Waits until the CodeLens rows satisfy `predicate` (given codeLenses()). */
  async waitForCodeLenses(predicate, timeout = 30000) {
    const started = Date.now();
    for (;;) {
      const lenses = await this.codeLenses();
      if (predicate(lenses)) return lenses;
      if (Date.now() - started > timeout) throw new Error(`CodeLens not as expected: ${JSON.stringify(lenses)}`);
      await sleep(250);
    }
  }

  /** Clicks the link `link` of the CodeLens row that holds `row` (e.g. "Accept hunk 2/3"). */
  async clickCodeLens(row, link) {
    const lens = this.page.locator('.monaco-editor .codelens-decoration', { hasText: row }).first();
    await lens.locator('a', { hasText: link }).first().click();
  }

  /** The text decorations show after the visible lines (CSS ::after content), top to bottom. */
  async decorationTexts() {
    return (await this.decoratedLines()).map(([, after]) => after);
  }

  /** Each visible line that has decoration text after it: [line's text, decoration text]. */
  async decoratedLines() {
    // (the callback runs in the page)
    /* global window */
    return this.page.locator('.monaco-editor .view-lines .view-line').evaluateAll((lines) => lines
      .filter((line) => line.getBoundingClientRect().height > 0)
      .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
      .map((line) => [line, [...line.querySelectorAll('span')].map((span) => window.getComputedStyle(span, '::after').content)
        .filter((c) => c && c !== 'none' && c !== 'normal' && c !== '""')])
      .filter(([, after]) => after.length)
      .map(([line, after]) => [(line.textContent ?? '').replace(/\u00a0/g, ' '),
        after.map((c) => c.replace(/^"|"$/g, '').replace(/\u00a0/g, ' ').trim()).join(' ')]));
  }

  /** Saves the editor (Ctrl+S) and waits until the file on disk equals `expected`. */
  async saveAndExpect(file, expected, timeout = 20000) {
    await this.page.keyboard.press('Control+S');
    return waitForFile(file, (text) => text === expected, timeout);
  }

  async pickCodeAction(title) {
    await this.page.locator('.action-widget .monaco-list-row.action', { hasText: title }).first().click();
  }

  /** The toasts showing now: [{message, buttons}]. */
  async toasts() {
    return this.page.locator('.notification-toast').evaluateAll((nodes) => nodes.map((n) => ({
      message: n.querySelector('.notification-list-item-message')?.textContent ?? '',
      buttons: [...n.querySelectorAll('.notification-list-item-buttons-container .monaco-button')]
        .map((b) => b.textContent ?? ''),
    })));
  }

  async waitForToast(text, timeout = 120000) {
    const toast = this.page.locator('.notification-toast', { hasText: text }).first();
    await toast.waitFor({ timeout });
    return toast;
  }

  /** Every notification of this window, from the notification center (toasts hide after a
   *  while; the center keeps them): [{message, buttons}]. */
  async allNotifications() {
    const page = this.page;
    await this.palette('Notifications: Show Notifications');
    await page.locator('.notifications-center').waitFor({ timeout: 10000 });
    await sleep(500);
    const items = await page.locator('.notifications-center .notification-list-item').evaluateAll((nodes) =>
      nodes.map((n) => ({
        message: n.querySelector('.notification-list-item-message')?.textContent ?? '',
        buttons: [...n.querySelectorAll('.notification-list-item-buttons-container .monaco-button')]
          .map((b) => b.textContent ?? ''),
      })));
    return items;
  }

  async hideNotifications() {
    await this.palette('Notifications: Hide Notifications').catch(() => {});
  }

  async clickNotificationButton(text, button) {
    const page = this.page;
    const buttonOf = page.locator('.monaco-button', { hasText: button });
    const item = page.locator('.notification-list-item', { hasText: text, has: buttonOf }).first();
    await item.locator('.monaco-button', { hasText: button }).first().click();
  }

  /** The status bar items that speak about Pair (text), now. */
  async pairStatusItems() {
    return this.page.locator('.part.statusbar .statusbar-item').evaluateAll((nodes) => nodes
      .map((n) => (n.textContent ?? '').trim())
      .filter((t) => /\bPair\b|round \d|Round \d/.test(t)));
  }

  async problems() {
    const panel = this.page.locator('.markers-panel');
    if (!(await panel.isVisible().catch(() => false))) {
      await this.page.keyboard.press('Control+Shift+M');
      await panel.waitFor({ timeout: 10000 });
    }
    await sleep(300);
    return this.page.locator('.markers-panel .monaco-list-row').allInnerTexts();
  }

  /** A modal dialog: its message, and a click on one of its buttons. */
  async dialog(timeout = 20000) {
    const box = this.page.locator('.monaco-dialog-box');
    await box.waitFor({ timeout });
    const message = (await box.locator('.dialog-message-text, .dialog-message').allInnerTexts()).join(' ');
    const detail = (await box.locator('.dialog-message-detail').allInnerTexts()).join(' ');
    return { message: `${message} ${detail}`.trim(), box };
  }

  async clickDialogButton(name) {
    await this.page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: name }).first().click();
  }
}

/** Runs a scenario: report.json and a failure screenshot whatever happens. */
export async function scenario(body) {
  let editor;
  let failed = false;
  try {
    await body((e) => {
      editor = e;
    });
  } catch (error) {
    failed = true;
    report.error = String(error?.stack ?? error);
    console.error('E2E FAILED:', error);
    if (editor) await editor.shot('failure');
  } finally {
    fs.writeFileSync(path.join(WORK, 'report.json'), JSON.stringify(report, null, 2));
    if (editor) await editor.close();
  }
  process.exit(failed ? 1 : 0);
}

export function waitForFile(file, predicate, timeoutMs = 30000) {
  const started = Date.now();
  return (async () => {
    for (;;) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
      if (predicate(text)) return text;
      if (Date.now() - started > timeoutMs) throw new Error(`${file}: not as expected:\n${text}`);
      await sleep(200);
    }
  })();
}

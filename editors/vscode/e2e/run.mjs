// End-to-end: a real VS Code (code-server) in headless Chromium, driven by playwright-core.
// Installs the .vsix, opens example.py, selects the function, runs "Pair: Pair on Selection"
// from the palette, sees the finding in the Problems panel, applies the pair code action, and
// checks the file's new text. Env: PAIR_E2E_* (set by tests/editors/test_vscode.py).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';

const env = process.env;
const CACHE = env.PAIR_E2E_CACHE;
const require = createRequire(path.join(CACHE, 'pw', 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');
const CODE_SERVER = path.join(CACHE, 'cs', 'node_modules', '.bin', 'code-server');
const WORK = env.PAIR_E2E_WORKDIR; // temp dir: workspace/, user/, ext/, shots/
const WORKSPACE = path.join(WORK, 'workspace');
const SHOTS = path.join(WORK, 'shots');
const TARGET = path.join(WORKSPACE, 'example.py');
const EXPECTED = fs.readFileSync(env.PAIR_E2E_EXPECTED, 'utf8');
fs.mkdirSync(SHOTS, { recursive: true });

const log = (...args) => console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...args);

async function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const common = ['--config', path.join(WORK, 'cs-config.yaml'), '--user-data-dir', path.join(WORK, 'user'),
  '--extensions-dir', path.join(WORK, 'ext')];
fs.writeFileSync(path.join(WORK, 'cs-config.yaml'), 'auth: none\ncert: false\n');
log('installing', env.PAIR_E2E_VSIX);
execFileSync(CODE_SERVER, [...common, '--install-extension', env.PAIR_E2E_VSIX], { stdio: 'inherit' });

const port = await freePort();
const server = spawn(CODE_SERVER, [...common, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
  '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
  '--reconnection-grace-time', '10', WORKSPACE], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
const serverLog = fs.createWriteStream(path.join(WORK, 'code-server.log'));
server.stdout.pipe(serverLog);
server.stderr.pipe(serverLog);

let browser;
let page;
let failed = false;
function cleanup() {
  try {
    process.kill(-server.pid, 'SIGKILL'); // the whole group: no orphaned extension host
  } catch {
    // already gone
  }
}
process.on('exit', cleanup);

async function shot(name) {
  if (page) {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) }).catch(() => {});
  }
}

async function palette(command) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 20000 });
  await input.fill(`>${command}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first()
    .waitFor({ timeout: 20000 });
  await page.keyboard.press('Enter');
}

async function gotoLine(line) {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(`:${line}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 10000 });
}

/** Open the editor's code action menu (Ctrl+.) and wait for an entry; retried, since a
 *  keystroke that lands while focus is moving is lost. */
async function openCodeActions(title) {
  const item = page.locator('.action-widget', { hasText: title }).getByText(title);
  for (let attempt = 1; attempt <= 4; attempt++) {
    await page.keyboard.press('Control+.');
    try {
      await item.first().waitFor({ timeout: 5000 });
      return item.first();
    } catch (error) {
      if (attempt === 4) throw error;
      await page.keyboard.press('Escape');
      await page.locator('.monaco-editor .view-lines').first().click();
      await gotoLine(6);
    }
  }
  throw new Error('unreachable');
}

try {
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (i > 300) throw new Error('code-server did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({
    executablePath: env.PAIR_E2E_CHROMIUM || '/usr/bin/chromium',
    headless: true, // playwright gives each launch a fresh, temporary profile
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(WORKSPACE)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
  log('workbench up');
  await page.waitForTimeout(3000);

  // open example.py with Quick Open
  await page.keyboard.press('Control+P');
  const quick = page.locator('.quick-input-widget input');
  await quick.waitFor({ state: 'visible', timeout: 20000 });
  await quick.fill('example.py');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'example.py' }).first()
    .waitFor({ timeout: 20000 });
  await page.keyboard.press('Enter');
  await page.locator('.monaco-editor .view-lines').first().waitFor({ timeout: 20000 });
  await page.locator('.monaco-editor .view-lines').first().click();
  log('file open');
  // wait for the extension's server: the palette command exists once activated
  await page.waitForTimeout(4000);

  // select the function: lines 4-10
  await gotoLine(4);
  for (let i = 0; i < 7; i++) await page.keyboard.press('Shift+ArrowDown');
  await shot('1-selection');

  await palette('Pair: Pair on Selection');
  const box = page.locator('.quick-input-widget input');
  await box.waitFor({ state: 'visible', timeout: 20000 });
  await box.fill('fix it');
  await shot('2-instruction');
  await page.keyboard.press('Enter');
  log('pair started');

  // the reviewer's finding in the Problems panel
  await page.keyboard.press('Control+Shift+M');
  const row = page.locator('.markers-panel .monaco-list-row', { hasText: 'empty list' });
  await row.first().waitFor({ timeout: 90000 });
  log('finding in Problems');
  await shot('3-problems');

  // the session ends approved: the notification says so
  await page.locator('.notification-toast', { hasText: 'Pair approved' }).first()
    .waitFor({ timeout: 90000 });
  await shot('4-approved');
  log('approved');

  // apply the pair code action from the editor's code action menu
  await page.locator('.monaco-editor .view-lines').first().click();
  await gotoLine(6);
  const action = await openCodeActions('Pair: Apply approved edit');
  await shot('5-code-action');
  await action.click();
  log('code action applied');
  await page.keyboard.press('Control+S');

  for (let i = 0; ; i++) {
    const text = fs.readFileSync(TARGET, 'utf8');
    if (text === EXPECTED) break;
    if (i > 150) throw new Error(`file text is not the expected text:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.waitForTimeout(1000);
  await shot('6-applied');
  log('file has the expected text');
} catch (error) {
  failed = true;
  console.error('E2E FAILED:', error);
  await shot('failure');
} finally {
  if (browser) await browser.close().catch(() => {});
  cleanup();
}
process.exit(failed ? 1 : 0);

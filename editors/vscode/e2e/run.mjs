// Entry: `node e2e/run.mjs SCENARIO` runs e2e/SCENARIO.mjs (session, failure, trust, firstrun).
// Env: PAIR_E2E_* (set by tests/editors/test_vscode.py); see lib.mjs.
const name = process.argv[2] ?? 'session';
if (!/^[a-z]+$/.test(name)) throw new Error(`bad scenario name ${name}`);
await import(`./${name}.mjs`);

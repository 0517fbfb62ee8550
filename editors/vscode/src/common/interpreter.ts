// Finding a way to run pair-lsp. The extension host does not see the login shell's PATH (a
// desktop launch), so `pair-lsp` on PATH is not enough. In order: the `pair.server.command`
// setting; the `pair.server.python` setting; the server bundled in the .vsix (bundled/libs, run
// with any Python >= 3.11, as Microsoft's Python tool extensions do); the Python extension's
// interpreter; `pair-lsp` on PATH; python3 on PATH; common install locations. Interpreters are
// probed (version and imports) before use, so a broken candidate is skipped, not started.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';

export interface ServerCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  source: string; // for the log: which rule found it
}

export class NoServerError extends Error {
  constructor(
    message: string,
    readonly tried: string[],
    readonly setting?: string,
  ) {
    super(message);
  }
}

const WINDOWS = process.platform === 'win32';
const PROBE_SERVER = 'import sys; assert sys.version_info >= (3, 11), sys.version; import pair_lsp, pygls, lsprotocol';

/** Runs `python -c code` with a timeout; resolves its stdout, or undefined when it fails. */
function run(python: string, code: string, env?: Record<string, string>): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(python, ['-c', code], { timeout: 15000, env: { ...process.env, ...env }, windowsHide: true },
        (error, stdout) => resolve(error ? undefined : String(stdout)));
    } catch {
      resolve(undefined);
    }
  });
}

async function probe(python: string, code: string, env?: Record<string, string>): Promise<boolean> {
  return (await run(python, code, env)) !== undefined;
}

/** PYTHONPATH for the bundled server under `python`: its version's compiled packages
 *  (bundled/abi/cp3XX, when that build has them) before bundled/libs. */
async function bundledPath(python: string, libs: string): Promise<string | undefined> {
  const minor = Number((await run(python, 'import sys; print(sys.version_info[1] if sys.version_info[0] == 3 else 0)'))?.trim());
  if (!(minor >= 11)) {
    return undefined;
  }
  const abi = path.join(path.dirname(libs), 'abi', `cp3${minor}`);
  return fs.existsSync(abi) ? [abi, libs].join(path.delimiter) : libs;
}

function onPath(name: string): string | undefined {
  const names = WINDOWS ? [`${name}.exe`, `${name}.cmd`, name] : [name];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const candidate of names.map((n) => path.join(dir, n))) {
      if (dir && isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, WINDOWS ? fs.constants.F_OK : fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The Python interpreter selected in the Python extension, if it is installed. */
async function pythonExtensionInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const python = vscode.extensions.getExtension('ms-python.python');
  if (!python) {
    return undefined;
  }
  try {
    const api = python.isActive ? python.exports : await python.activate();
    const active = api?.environments?.getActiveEnvironmentPath?.(resource);
    const resolved = active ? await api.environments.resolveEnvironment?.(active) : undefined;
    return resolved?.executable?.uri?.fsPath ?? active?.path;
  } catch {
    return undefined;
  }
}

/** Where pip, pipx, uv, Homebrew and virtual environments usually put things. */
function commonLocations(folders: readonly vscode.WorkspaceFolder[]): { servers: string[]; pythons: string[] } {
  const home = os.homedir();
  const bin = WINDOWS ? 'Scripts' : 'bin';
  const exe = (name: string) => (WINDOWS ? `${name}.exe` : name);
  const servers = [
    path.join(home, '.local', 'bin', exe('pair-lsp')),
    path.join(home, '.local', 'pipx', 'venvs', 'pair-lsp', bin, exe('pair-lsp')),
    path.join(home, '.local', 'share', 'uv', 'tools', 'pair-lsp', bin, exe('pair-lsp')),
    '/opt/homebrew/bin/pair-lsp',
    '/usr/local/bin/pair-lsp',
  ];
  const pythons: string[] = [];
  for (const folder of folders) {
    for (const venv of ['.venv', 'venv', 'env']) {
      pythons.push(path.join(folder.uri.fsPath, venv, bin, exe(WINDOWS ? 'python' : 'python3')));
    }
  }
  if (!WINDOWS) {
    for (const minor of [14, 13, 12, 11]) {
      pythons.push(`/opt/homebrew/bin/python3.${minor}`, `/usr/local/bin/python3.${minor}`,
        `/usr/bin/python3.${minor}`);
    }
    pythons.push('/opt/homebrew/bin/python3', '/usr/local/bin/python3', '/usr/bin/python3');
  } else {
    const local = process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local');
    for (const minor of [14, 13, 12, 11]) {
      pythons.push(path.join(local, 'Programs', 'Python', `Python3${minor}`, 'python.exe'));
    }
  }
  return { servers, pythons };
}

function unique(items: (string | undefined)[]): string[] {
  return [...new Set(items.filter((item): item is string => !!item))];
}

export interface Settings {
  command: string[];
  python: string;
}

/**
 * The command that starts the server, or a NoServerError saying what was tried and what to do.
 * `bundled` is the extension's bundled/libs folder (absent in a build without it).
 */
export async function findServer(settings: Settings, bundled: string | undefined,
  log: (line: string) => void): Promise<ServerCommand> {
  if (settings.command.length > 0) {
    return { command: settings.command[0], args: settings.command.slice(1), env: {}, source: 'pair.server.command' };
  }
  const tried: string[] = [];
  if (settings.python) {
    const bundledFor = bundled ? await bundledPath(settings.python, bundled) : undefined;
    const env: Record<string, string> = bundledFor ? { PYTHONPATH: bundledFor } : {};
    if (await probe(settings.python, PROBE_SERVER, env)) {
      return { command: settings.python, args: ['-m', 'pair_lsp', 'serve'], env, source: 'pair.server.python' };
    }
    throw new NoServerError(
      `Pair: the interpreter in pair.server.python (${settings.python}) cannot run pair-lsp: it must be ` +
      'Python 3.11 or newer with pair-lsp installed (pip install pair-lsp).', [settings.python], 'pair.server.python');
  }
  const folders = vscode.workspace.workspaceFolders ?? [];
  const common = commonLocations(folders);
  const selected = await pythonExtensionInterpreter(folders[0]?.uri);
  const pythons = unique([selected, onPath('python3'), onPath('python'), ...common.pythons]);
  if (bundled) {
    // the bundled server needs only an interpreter that is new enough
    for (const python of pythons) {
      const pythonPath = await bundledPath(python, bundled);
      if (pythonPath && (await probe(python, PROBE_SERVER, { PYTHONPATH: pythonPath }))) {
        return { command: python, args: ['-m', 'pair_lsp', 'serve'], env: { PYTHONPATH: pythonPath }, source: 'bundled' };
      }
      tried.push(python);
    }
    log(`bundled server: no Python >= 3.11 among ${tried.join(', ')}`);
  }
  if (selected && (await probe(selected, PROBE_SERVER))) {
    return { command: selected, args: ['-m', 'pair_lsp', 'serve'], env: {}, source: 'Python extension' };
  }
  const installed = onPath('pair-lsp') ?? common.servers.find(isExecutable);
  if (installed) {
    return { command: installed, args: ['serve'], env: {}, source: 'pair-lsp executable' };
  }
  for (const python of pythons) {
    if (python !== selected && (await probe(python, PROBE_SERVER))) {
      return { command: python, args: ['-m', 'pair_lsp', 'serve'], env: {}, source: 'python on PATH' };
    }
    tried.push(python);
  }
  throw new NoServerError(
    'Pair: pair-lsp was not found. Install it with "pipx install pair-lsp" (or "pip install pair-lsp" ' +
    'into a Python 3.11+ environment), or set pair.server.python to that Python.',
    unique(tried), 'pair.server.python');
}

/** The bundled server's folder inside the extension, if this build ships one. */
export function bundledLibs(extensionPath: string): string | undefined {
  const libs = path.join(extensionPath, 'bundled', 'libs');
  return fs.existsSync(path.join(libs, 'pair_lsp')) ? libs : undefined;
}

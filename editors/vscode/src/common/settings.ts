// Settings sent to the server: only what the user set explicitly (workspace folder > workspace
// > user), so the server's own defaults and a project .pair-lsp.toml are not overridden by
// VS Code's defaults. Client-only settings (server command, trace) stay here. In an untrusted
// workspace the workspace's values of the restricted settings (package.json,
// capabilities.untrustedWorkspaces.restrictedConfigurations: they run programs or send code or
// keys elsewhere) are never sent, whatever VS Code itself does with them.
import * as vscode from 'vscode';

const CLIENT_ONLY = ['server', 'trace', 'inlineDiff'];

type Json = { [key: string]: unknown };

function setPath(target: Json, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) {
      node[part] = {};
    }
    node = node[part] as Json;
  }
  node[path[path.length - 1]] = value;
}

/** The `pair` settings the user set explicitly, as a nested object. */
export function explicitSettings(scope?: vscode.ConfigurationScope): Json {
  const config = vscode.workspace.getConfiguration('pair', scope);
  const extension = vscode.extensions.getExtension('pair-lsp.pair-lsp');
  const properties = Object.keys(
    extension?.packageJSON?.contributes?.configuration?.properties ?? {},
  );
  const restricted = new Set<string>(restrictedSettings());
  const trusted = vscode.workspace.isTrusted;
  const out: Json = {};
  for (const full of properties) {
    const key = full.replace(/^pair\./, '');
    if (CLIENT_ONLY.includes(key.split('.')[0])) {
      continue;
    }
    const inspected = config.inspect(key);
    const fromWorkspace = trusted || !restricted.has(full);
    const value =
      (fromWorkspace ? inspected?.workspaceFolderValue ?? inspected?.workspaceValue : undefined) ??
      inspected?.globalValue;
    if (value !== undefined && value !== null && value !== '') {
      setPath(out, key.split('.'), value);
    }
  }
  return out;
}

/** The settings an untrusted workspace may not set (package.json lists them). */
export function restrictedSettings(): string[] {
  const extension = vscode.extensions.getExtension('pair-lsp.pair-lsp');
  return extension?.packageJSON?.capabilities?.untrustedWorkspaces?.restrictedConfigurations ?? [];
}

/** How to start the server: `pair.server.command` (argv) and `pair.server.python`. These run
 *  programs, so an untrusted workspace's values are ignored (only the user's own count). */
export function serverSettings(): { command: string[]; python: string } {
  const config = vscode.workspace.getConfiguration('pair');
  const own = <T>(key: string): T | undefined => {
    const inspected = config.inspect<T>(key);
    return vscode.workspace.isTrusted
      ? inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue
      : inspected?.globalValue;
  };
  const command = own<string[]>('server.command') ?? [];
  const python = own<string>('server.python') ?? '';
  return {
    command: Array.isArray(command) ? command.filter((part) => typeof part === 'string') : [],
    python: typeof python === 'string' ? python.trim() : '',
  };
}

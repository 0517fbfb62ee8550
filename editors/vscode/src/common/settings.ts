// Settings sent to the server: only what the user set explicitly (workspace folder > workspace
// > user), so the server's own defaults and a project .pair-lsp.toml are not overridden by
// VS Code's defaults. Client-only settings (server command, trace) stay here.
import * as vscode from 'vscode';

const CLIENT_ONLY = ['server', 'trace'];

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
  const out: Json = {};
  for (const full of properties) {
    const key = full.replace(/^pair\./, '');
    if (CLIENT_ONLY.includes(key.split('.')[0])) {
      continue;
    }
    const inspected = config.inspect(key);
    const value =
      inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    if (value !== undefined && value !== null && value !== '') {
      setPath(out, key.split('.'), value);
    }
  }
  return out;
}

export function serverCommandSetting(): string[] {
  const value = vscode.workspace.getConfiguration('pair').get<string[]>('server.command') ?? [];
  return Array.isArray(value) ? value.filter((part) => typeof part === 'string') : [];
}

// API keys live in VS Code's SecretStorage (never settings.json) and reach the server only
// through its process environment.
import * as vscode from 'vscode';

const INDEX = 'pair.keys.index';

function storageKey(envName: string): string {
  return `pair.key.${envName}`;
}

export async function keyEnvironment(context: vscode.ExtensionContext): Promise<Record<string, string>> {
  const names = context.globalState.get<string[]>(INDEX, []);
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = await context.secrets.get(storageKey(name));
    if (value) {
      env[name] = value;
    }
  }
  return env;
}

/** Ask which key and its value; store it. Returns true when a key was stored or removed. */
export async function promptForKey(context: vscode.ExtensionContext): Promise<boolean> {
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'OpenAI', description: 'OPENAI_API_KEY', env: 'OPENAI_API_KEY' },
      { label: 'Anthropic', description: 'ANTHROPIC_API_KEY', env: 'ANTHROPIC_API_KEY' },
      { label: 'Other…', description: 'a role with a custom apiKeyEnv', env: '' },
    ],
    { title: 'Pair: Set API Key', placeHolder: 'Which key?' },
  );
  if (!pick) {
    return false;
  }
  let envName = pick.env;
  if (!envName) {
    envName =
      (await vscode.window.showInputBox({
        title: 'Environment variable name (the role\'s apiKeyEnv)',
        validateInput: (v) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? undefined : 'A variable name'),
      })) ?? '';
    if (!envName) {
      return false;
    }
  }
  const value = await vscode.window.showInputBox({
    title: `${pick.label} key (${envName}) — stored in VS Code's secret storage`,
    password: true,
    ignoreFocusOut: true,
    placeHolder: 'Leave empty to remove the stored key',
  });
  if (value === undefined) {
    return false;
  }
  const names = new Set(context.globalState.get<string[]>(INDEX, []));
  if (value.trim()) {
    await context.secrets.store(storageKey(envName), value.trim());
    names.add(envName);
  } else {
    await context.secrets.delete(storageKey(envName));
    names.delete(envName);
  }
  await context.globalState.update(INDEX, [...names]);
  return true;
}

// Starting pair-lsp: resolve the command, hand it the keys from SecretStorage through its
// environment, and build the language client.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from 'vscode-languageclient/node';
import { keyEnvironment } from './secrets';
import { explicitSettings, serverCommandSetting } from './settings';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && fs.existsSync(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

/** The Python interpreter selected in the Python extension, if any. */
async function selectedPython(): Promise<string | undefined> {
  const python = vscode.extensions.getExtension('ms-python.python');
  if (!python) {
    return undefined;
  }
  try {
    const api = python.isActive ? python.exports : await python.activate();
    const env = api?.environments?.getActiveEnvironmentPath?.();
    return env?.path;
  } catch {
    return undefined;
  }
}

export async function resolveServerCommand(): Promise<{ command: string; args: string[] }> {
  const configured = serverCommandSetting();
  if (configured.length > 0) {
    return { command: configured[0], args: configured.slice(1) };
  }
  const installed = onPath('pair-lsp');
  if (installed) {
    return { command: installed, args: ['serve'] };
  }
  const python = (await selectedPython()) ?? (process.platform === 'win32' ? 'python' : 'python3');
  return { command: python, args: ['-m', 'pair_lsp', 'serve'] };
}

export async function createClient(
  context: vscode.ExtensionContext,
  output: vscode.LogOutputChannel,
  trace: vscode.LogOutputChannel,
): Promise<LanguageClient> {
  const { command, args } = await resolveServerCommand();
  output.info(`starting ${command} ${args.join(' ')}`);
  const serverOptions: ServerOptions = {
    command,
    args,
    options: { env: { ...process.env, ...(await keyEnvironment(context)) } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    outputChannel: output,
    traceOutputChannel: trace,
    initializationOptions: { ...explicitSettings(), clientCommands: ['pair.preview'] },
    synchronize: { configurationSection: 'pair' },
    middleware: {
      workspace: {
        // answer workspace/configuration with explicit settings only (see settings.ts)
        configuration: (params) =>
          params.items.map((item) =>
            item.section === 'pair'
              ? explicitSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
              : null,
          ),
      },
    },
  };
  return new LanguageClient('pair', 'pair-lsp', serverOptions, clientOptions);
}

// Building the language client: the server command (interpreter.ts), the keys from
// SecretStorage in its environment, initializationOptions (settings, workspace trust, the client
// commands this extension implements, result notifications), and no work-done progress (the
// status bar item shows the session once, from pair/status).
import * as vscode from 'vscode';
import {
  ClientCapabilities,
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  StaticFeature,
} from 'vscode-languageclient/node';
import { ServerCommand } from './interpreter';
import { keyEnvironment } from './secrets';
import { explicitSettings } from './settings';

/** Client-side commands the server may put in code actions (docs/lsp-surface.md). */
export const CLIENT_COMMANDS = ['pair.preview', 'pair.pairOnSelection'];

/** Registered after the built-in features: switches off window.workDoneProgress, so the server
 *  reports sessions only through pair/status (one status bar item, not two). */
class NoWorkDoneProgress implements StaticFeature {
  getState() {
    return { kind: 'static' as const };
  }
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    if (capabilities.window) {
      capabilities.window.workDoneProgress = false;
    }
  }
  initialize(): void {}
  clear(): void {}
}

export function initializationOptions(): object {
  return {
    ...explicitSettings(),
    trusted: vscode.workspace.isTrusted,
    clientCommands: CLIENT_COMMANDS,
    resultNotifications: true,
  };
}

export async function createClient(
  context: vscode.ExtensionContext,
  output: vscode.LogOutputChannel,
  trace: vscode.LogOutputChannel,
  server: ServerCommand,
  middleware: LanguageClientOptions['middleware'],
): Promise<LanguageClient> {
  output.info(`starting ${server.command} ${server.args.join(' ')} (${server.source}; workspace ` +
    `${vscode.workspace.isTrusted ? 'trusted' : 'not trusted'})`);
  const serverOptions: ServerOptions = {
    command: server.command,
    args: server.args,
    options: { env: { ...process.env, ...server.env, ...(await keyEnvironment(context)) } },
  };
  const crashes: number[] = [];
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    outputChannel: output,
    traceOutputChannel: trace,
    revealOutputChannelOn: RevealOutputChannelOn.Never, // messages are shown once, by us
    initializationOptions: initializationOptions(),
    initializationFailedHandler: () => false,
    synchronize: { configurationSection: 'pair' },
    errorHandler: {
      error: () => ({ action: ErrorAction.Continue, handled: true }),
      closed: () => {
        const now = Date.now();
        crashes.push(now);
        const recent = crashes.filter((t) => now - t < 180000);
        if (recent.length <= 2) {
          return { action: CloseAction.Restart, handled: true };
        }
        return {
          action: CloseAction.DoNotRestart,
          message: 'Pair: the pair-lsp server stopped 3 times in 3 minutes (see Output → pair-lsp). ' +
            'Run "Pair: Restart Server" to start it again.',
        };
      },
    },
    middleware: {
      ...middleware,
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
  const client = new LanguageClient('pair', 'pair-lsp', serverOptions, clientOptions);
  client.registerFeature(new NoWorkDoneProgress());
  return client;
}

// pair-lsp for VS Code: starts the server, adds the palette commands, a status bar item while
// sessions run, a diff preview of proposals, and keys in SecretStorage.
import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/node';
import { PairCommands } from './common/commands';
import { ProposalProvider, SCHEME } from './common/preview';
import { promptForKey } from './common/secrets';
import { createClient } from './common/server';
import { PairStatus, SessionStatusBar } from './common/statusBar';

let client: LanguageClient | undefined;

async function start(
  context: vscode.ExtensionContext,
  output: vscode.LogOutputChannel,
  trace: vscode.LogOutputChannel,
  statusBar: SessionStatusBar,
): Promise<void> {
  client = await createClient(context, output, trace);
  client.onNotification('pair/status', (status: PairStatus) => statusBar.update(status));
  try {
    await client.start();
  } catch (error) {
    output.error(`pair-lsp failed to start: ${(error as Error).message}`);
    void vscode.window.showErrorMessage(
      'pair-lsp could not start. Install it (pip install pair-lsp) or set pair.server.command.',
      'Open Settings',
    ).then((answer) => {
      if (answer) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'pair.server.command');
      }
    });
  }
}

async function stop(): Promise<void> {
  if (client) {
    const running = client;
    client = undefined;
    try {
      await running.stop();
    } catch {
      // already gone
    }
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('pair-lsp', { log: true });
  const trace = vscode.window.createOutputChannel('pair-lsp trace', { log: true });
  const statusBar = new SessionStatusBar();
  const preview = new ProposalProvider();
  const commands = new PairCommands(() => client, statusBar, preview);
  const restart = async () => {
    await stop();
    await start(context, output, trace, statusBar);
  };
  context.subscriptions.push(
    output,
    trace,
    statusBar,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, preview),
    vscode.commands.registerCommand('pair.vscode.pairSelection', () => commands.pairSelection()),
    vscode.commands.registerCommand('pair.vscode.pairFile', () => commands.pairFile()),
    vscode.commands.registerCommand('pair.vscode.reviewFile', () => commands.reviewFile()),
    vscode.commands.registerCommand('pair.vscode.cancel', (id?: string) => commands.cancel(id)),
    vscode.commands.registerCommand('pair.vscode.showTranscript', () => commands.showTranscript()),
    vscode.commands.registerCommand('pair.vscode.previewProposal', () => commands.previewSession()),
    // the client-side command behind the server's "Pair: Preview edit" code action
    vscode.commands.registerCommand('pair.preview', (arg?: { sessionId?: string }) =>
      commands.previewSession(arg?.sessionId),
    ),
    vscode.commands.registerCommand('pair.vscode.restartServer', restart),
    vscode.commands.registerCommand('pair.vscode.setApiKey', async () => {
      if (await promptForKey(context)) {
        await restart(); // the server reads keys from its environment at start
        void vscode.window.showInformationMessage('Pair: key stored; the server was restarted.');
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('pair.server.command')) {
        await restart();
      }
    }),
  );
  await start(context, output, trace, statusBar);
}

export async function deactivate(): Promise<void> {
  await stop();
}

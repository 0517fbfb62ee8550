// pair-lsp for VS Code: finds and starts the server, adds the palette commands, one status bar
// item, one notification per session end (pair/result), proposals inline hunk by hunk
// (inlineDiff.ts) and as a diff preview with Accept / Reject in its title bar, keys in
// SecretStorage, and a restart when the user trusts the workspace (project settings that run
// programs or send code elsewhere are honoured only then).
import * as vscode from 'vscode';
import { ExecuteCommandParams, LanguageClient, ShowMessageRequest } from 'vscode-languageclient/node';
import { ChangeCommands } from './common/changes';
import { PairCommands } from './common/commands';
import { bundledLibs, findServer, NoServerError } from './common/interpreter';
import { LocalModelNotice } from './common/localModelNotice';
import { CONTEXT_KEY, InlineDiff } from './common/inlineDiff';
import { activePreview, closePreviews, previewSession, ProposalProvider, SCHEME } from './common/preview';
import { RestartGuard } from './common/restartGuard';
import { answerServerQuestion, PairResultNotification, ResultNotifier } from './common/results';
import { PlanApproval, PlanNotification } from './common/plan';
import { promptForKey } from './common/secrets';
import { createClient } from './common/server';
import { serverSettings } from './common/settings';
import { PairStatus, SessionStatusBar } from './common/statusBar';
import { Steering } from './common/steering';

let client: LanguageClient | undefined;

type HunkArgument = { uri?: string; hunk?: number };

interface Parts {
  context: vscode.ExtensionContext;
  output: vscode.LogOutputChannel;
  trace: vscode.LogOutputChannel;
  statusBar: SessionStatusBar;
  commands: PairCommands;
  results: ResultNotifier;
  guard: RestartGuard;
  localNotice: LocalModelNotice;
  changes: ChangeCommands;
  plans: PlanApproval;
  inline: InlineDiff;
}

async function showNoServer(error: NoServerError, output: vscode.LogOutputChannel): Promise<void> {
  output.error(error.message);
  if (error.tried.length) {
    output.info(`interpreters tried: ${error.tried.join(', ')}`);
  }
  const answer = await vscode.window.showErrorMessage(error.message, 'Open Settings', 'Install Instructions');
  if (answer === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', error.setting ?? 'pair.server');
  } else if (answer === 'Install Instructions') {
    await vscode.env.openExternal(vscode.Uri.parse('https://pypi.org/project/pair-lsp/'));
  }
}

async function start(parts: Parts): Promise<void> {
  const { context, output, trace, statusBar, commands, results, guard, localNotice, changes, plans, inline } = parts;
  let server;
  try {
    server = await findServer(serverSettings(), bundledLibs(context.extensionPath), (line) => output.info(line));
  } catch (error) {
    if (error instanceof NoServerError) {
      void showNoServer(error, output);
      return;
    }
    throw error;
  }
  const created = await createClient(context, output, trace, server, {
    // server commands run from code actions: their result is not shown (pair/result is), an
    // error is shown once (not also as "Request workspace/executeCommand failed.")
    executeCommand: async (command: string, args: ExecuteCommandParams['arguments']) => {
      const argument = (args?.[0] ?? undefined) as { sessionId?: string } | undefined;
      if (argument?.sessionId && (command === 'pair.apply' || command === 'pair.discard')) {
        guard.forget(argument.sessionId);
      }
      const out = await commands.server(command, argument);
      void inline.afterCommand(command, argument);
      return out;
    },
  });
  created.onNotification('pair/status', (status: PairStatus) => {
    statusBar.update(status);
    plans.onStatus(status);
    if (status.status === 'running') {
      guard.forget(status.sessionId);
      if (status.mode !== 'review') {
        inline.sessionRunning(status);
      }
    }
    localNotice.check(status);
  });
  created.onNotification('pair/result', (result: PairResultNotification) => {
    guard.noteResult(result);
    localNotice.check(result);
    if (!changes.claim(result)) { // a change session's end is shown with its command's answer
      results.show(result);
    }
    void inline.sessionEnded(result);
  });
  created.onNotification('pair/plan', (plan: PlanNotification) => void plans.onPlan(plan));
  // replaces the language client's default handler (registered before ours at start)
  created.onRequest(ShowMessageRequest.type, answerServerQuestion);
  client = created;
  try {
    await created.start();
  } catch (error) {
    // the language client has already shown its one message ("couldn't create connection")
    client = undefined;
    output.error(`pair-lsp (${server.command}) failed to start: ${(error as Error).message}`);
  }
}

async function stop(statusBar: SessionStatusBar, guard: RestartGuard, plans: PlanApproval, inline: InlineDiff): Promise<void> {
  statusBar.reset();
  plans.reset();
  guard.clear();
  inline.clear();
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
  const guard = new RestartGuard();
  const commands = new PairCommands(() => client, statusBar, preview);
  const inline = new InlineDiff({
    client: () => client,
    server: (command, argument) => commands.server(command, argument),
    continueSession: (sessionId, uri) => commands.runSession('pair.continue', { sessionId }, uri),
  });
  const results = new ResultNotifier({
    server: async <T>(command: string, argument: object) => {
      const id = (argument as { sessionId?: string }).sessionId;
      if (id && (command === 'pair.apply' || command === 'pair.discard')) {
        guard.forget(id);
      }
      const out = await commands.server<T>(command, argument);
      void inline.afterCommand(command, argument);
      return out;
    },
    runSession: (command, argument, uri) => commands.runSession(command, argument, uri),
    preview: (sessionId) => commands.previewSession(sessionId),
  });
  const localNotice = new LocalModelNotice('pair.vscode.setApiKey');
  const changes = new ChangeCommands(() => client, statusBar, output, (result) => results.show(result));
  const plans = new PlanApproval(commands);
  const steering = new Steering(commands);
  const parts: Parts = { context, output, trace, statusBar, commands, results, guard, localNotice, changes, plans, inline };
  const restart = async () => {
    await stop(statusBar, guard, plans, inline);
    await start(parts);
  };
  context.subscriptions.push(
    output,
    trace,
    statusBar,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, preview),
    inline,
    vscode.languages.registerCodeLensProvider([{ scheme: 'file' }, { scheme: 'untitled' }], inline),
    // the inline diff (keys: package.json, when pair.inlineDiffVisible)
    vscode.commands.registerCommand('pair.vscode.acceptHunk', (arg?: HunkArgument) => inline.acceptHunk(arg)),
    vscode.commands.registerCommand('pair.vscode.rejectHunk', (arg?: HunkArgument) => inline.rejectHunk(arg)),
    vscode.commands.registerCommand('pair.vscode.rejectHunkWithReason', (arg?: HunkArgument) =>
      inline.rejectHunk(arg, true)),
    vscode.commands.registerCommand('pair.vscode.nextHunk', () => inline.go(1)),
    vscode.commands.registerCommand('pair.vscode.previousHunk', () => inline.go(-1)),
    vscode.commands.registerCommand('pair.vscode.acceptAllHunks', () => inline.acceptAll()),
    vscode.commands.registerCommand('pair.vscode.rejectAllHunks', () => inline.rejectAll()),
    vscode.commands.registerCommand('pair.vscode.showInlineDiff', async () => {
      const editor = vscode.window.activeTextEditor;
      const latest = editor ? statusBar.latestByUri.get(editor.document.uri.toString()) : undefined;
      if (latest) {
        await inline.refresh(latest.uri, latest.sessionId);
      }
      if (!latest || !inline.shown(latest.uri)) {
        void vscode.window.showInformationMessage('Pair: no proposal of this file to show.');
      }
    }),
    // the diff preview's title bar
    vscode.commands.registerCommand('pair.vscode.previewAccept', async (uri?: vscode.Uri) => {
      const sessionId = previewSession(uri) ?? previewSession(activePreview());
      if (!sessionId) {
        return;
      }
      const outcome = await results.applyFromPreview(sessionId);
      if (outcome) {
        await closePreviews(sessionId);
      }
    }),
    vscode.commands.registerCommand('pair.vscode.previewReject', async (uri?: vscode.Uri) => {
      const sessionId = previewSession(uri) ?? previewSession(activePreview());
      if (sessionId) {
        await results.run('discard', { sessionId } as PairResultNotification);
        await closePreviews(sessionId);
      }
    }),
    vscode.commands.registerCommand('pair.vscode.pairSelection', () => commands.pairSelection()),
    vscode.commands.registerCommand('pair.vscode.pairFile', () => commands.pairFile()),
    vscode.commands.registerCommand('pair.vscode.reviewFile', () => commands.reviewFile()),
    vscode.commands.registerCommand('pair.vscode.cancel', (id?: string) => commands.cancel(id)),
    vscode.commands.registerCommand('pair.vscode.showTranscript', () => commands.showTranscript()),
    vscode.commands.registerCommand('pair.vscode.previewProposal', () => commands.previewSession()),
    plans,
    vscode.commands.registerCommand('pair.vscode.reviewUncommitted', () => changes.reviewUncommitted()),
    vscode.commands.registerCommand('pair.vscode.reviewStaged', () => changes.reviewStaged()),
    vscode.commands.registerCommand('pair.vscode.reviewAgainstBranch', () => changes.reviewAgainstBranch()),
    vscode.commands.registerCommand('pair.vscode.fixChanges', () => changes.fixChanges()),
    vscode.commands.registerCommand('pair.vscode.steer', (id?: string) => steering.steer(id)),
    vscode.commands.registerCommand('pair.vscode.continue', (id?: string) => steering.continueSession(id)),
    vscode.commands.registerCommand('pair.vscode.proceedPlan', (id?: string) => plans.proceed(id)),
    vscode.commands.registerCommand('pair.vscode.cancelPlan', (id?: string) => plans.cancel(id)),
    vscode.commands.registerCommand('pair.vscode.showPlan', (id?: string) => plans.reopen(id)),
    // client-side commands behind the server's code actions (initializationOptions.clientCommands)
    vscode.commands.registerCommand('pair.preview', (arg?: { sessionId?: string }) =>
      commands.previewSession(arg?.sessionId),
    ),
    vscode.commands.registerCommand('pair.pairOnSelection', (arg?: { uri?: string; range?: never }) =>
      commands.pairOnSelection(arg),
    ),
    vscode.commands.registerCommand('pair.vscode.restartServer', async () => {
      if (await guard.confirm('', statusBar.runningCount())) {
        await restart();
      }
    }),
    vscode.commands.registerCommand('pair.vscode.setApiKey', async () => {
      if (!(await promptForKey(context))) {
        return;
      }
      // the server reads keys from its environment when it starts
      if (await guard.confirm('Key stored. It takes effect when the server restarts.', statusBar.runningCount(),
        'Restart now')) {
        await restart();
        void vscode.window.showInformationMessage('Pair: key stored; the server was restarted to use it.');
      } else {
        void vscode.window.showInformationMessage('Pair: key stored; it takes effect at the next "Pair: Restart Server".');
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(async () => {
      // the project's restricted settings (key commands, base URLs, ...) may now be used
      output.info('workspace trusted: restarting the server with the project settings');
      if (await guard.confirm('The workspace is now trusted.', statusBar.runningCount(), 'Restart now')) {
        await restart();
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('pair.server')) {
        await restart();
      }
    }),
  );
  void vscode.commands.executeCommand('setContext', CONTEXT_KEY, false);
  await start(parts);
}

export async function deactivate(): Promise<void> {
  if (client) {
    await client.stop().catch(() => undefined);
  }
}

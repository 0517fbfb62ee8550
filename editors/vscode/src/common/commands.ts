// The palette commands and the client-side commands the server's code actions run. Server
// commands (pair.selection, ...) go through workspace/executeCommand and resolve when the session
// ends; their result is NOT shown here (the server's pair/result is, once: results.ts). An error
// answer is shown once, as an error message.
import * as vscode from 'vscode';
import {
  ErrorCodes,
  ExecuteCommandRequest,
  LanguageClient,
  LSPErrorCodes,
  Range as LspRange,
} from 'vscode-languageclient/node';
import { ProposalProvider } from './preview';
import { SessionStatusBar, statusLine } from './statusBar';

/** Server commands that start a session (from code actions too): their answer comes as pair/result. */
export const SESSION_COMMANDS = new Set(['pair.selection', 'pair.document', 'pair.review', 'pair.continue',
  'pair.retry']);

const INSTRUCTION_PROMPT = 'What should the worker do? Enter: improve it and fix what is wrong. Esc: cancel.';

export class PairCommands {
  constructor(
    private readonly getClient: () => LanguageClient | undefined,
    private readonly statusBar: SessionStatusBar,
    private readonly preview: ProposalProvider,
  ) {}

  private client(): LanguageClient | undefined {
    const client = this.getClient();
    if (!client || !client.isRunning()) {
      void vscode.window.showErrorMessage('Pair: the pair-lsp server is not running (Pair: Restart Server).');
      return undefined;
    }
    return client;
  }

  /** One server command; an error answer is shown once. */
  async server<T>(command: string, argument?: object): Promise<T | undefined> {
    const client = this.client();
    if (!client) {
      return undefined;
    }
    try {
      return (await client.sendRequest(ExecuteCommandRequest.type, {
        command,
        arguments: argument ? [argument] : [],
      })) as T;
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      const code = (error as { code?: number }).code;
      // the connection went away (restart, crash): that is reported once, elsewhere
      const disconnected = code === ErrorCodes.PendingResponseRejected || code === ErrorCodes.ConnectionInactive;
      if (!disconnected && code !== LSPErrorCodes.RequestCancelled && client.isRunning()) {
        void vscode.window.showErrorMessage(message.startsWith('Pair') ? message : `Pair: ${message}`);
      }
      return undefined;
    }
  }

  /**
   * A session the user started explicitly: a cancellable progress notification follows the
   * session's pair/status lines until it ends. The result itself arrives as pair/result.
   */
  async runSession(command: string, argument: object, uri: string): Promise<void> {
    const title = command === 'pair.review' ? 'Pair: reviewing' : 'Pair';
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        let sessionId: string | undefined;
        const known = new Set(
          [...this.statusBar.latestByUri.values()].filter((s) => s.uri === uri).map((s) => s.sessionId),
        );
        const wanted = (argument as { sessionId?: string }).sessionId;
        const listening = this.statusBar.onStatus((status) => {
          if (status.uri !== uri) {
            return;
          }
          if (!sessionId && status.status === 'running' && (status.sessionId === wanted || !known.has(status.sessionId))) {
            sessionId = status.sessionId;
          }
          if (status.sessionId === sessionId && status.status === 'running') {
            progress.report({ message: status.role === 'plan' ? 'the plan waits for you (Proceed, edit it, or Cancel)'
              : statusLine(status).replace(/^Pair · /, '') });
          }
        });
        const cancelling = token.onCancellationRequested(() => {
          void this.server('pair.cancel', sessionId ? { sessionId } : { uri });
        });
        try {
          await this.server(command, argument);
        } finally {
          listening.dispose();
          cancelling.dispose();
        }
      },
    );
  }

  private otherDiagnostics(uri: vscode.Uri, range?: vscode.Range): object[] {
    const client = this.getClient();
    return vscode.languages
      .getDiagnostics(uri)
      .filter((d) => d.source !== 'pair' && (!range || range.intersection(d.range)))
      .slice(0, 50)
      .map((d) => ({
        range: client?.code2ProtocolConverter.asRange(d.range),
        message: d.message,
        source: d.source,
      }));
  }

  /** Asks for the instruction: undefined = the user pressed Esc; '' = the default instruction. */
  private askInstruction(title: string): Thenable<string | undefined> {
    return vscode.window.showInputBox({ title, prompt: INSTRUCTION_PROMPT, placeHolder: 'e.g. handle empty lists' });
  }

  private async pairOn(document: vscode.TextDocument, range: vscode.Range): Promise<void> {
    const client = this.client();
    if (!client) {
      return;
    }
    const instruction = await this.askInstruction('Pair on Selection');
    if (instruction === undefined) {
      return;
    }
    const argument: Record<string, unknown> = {
      uri: document.uri.toString(),
      range: client.code2ProtocolConverter.asRange(range),
      diagnostics: this.otherDiagnostics(document.uri, range),
    };
    if (instruction.trim()) {
      argument.instruction = instruction.trim();
    }
    await this.runSession('pair.selection', argument, document.uri.toString());
  }

  /** Palette / context menu: the selection (or the cursor's line). */
  async pairSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      return;
    }
    const selection = editor.selection.isEmpty
      ? editor.document.lineAt(editor.selection.active.line).range
      : editor.selection;
    await this.pairOn(editor.document, selection);
  }

  /** The client command behind the server's "Pair on selection…" code action: {uri, range}. */
  async pairOnSelection(argument?: { uri?: string; range?: LspRange }): Promise<void> {
    const client = this.client();
    if (!client || !argument?.uri || !argument.range) {
      return this.pairSelection();
    }
    const uri = vscode.Uri.parse(argument.uri);
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())
      ?? (await vscode.workspace.openTextDocument(uri));
    await this.pairOn(document, client.protocol2CodeConverter.asRange(argument.range));
  }

  async pairFile(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !this.client()) {
      return;
    }
    const instruction = await this.askInstruction('Pair on File');
    if (instruction === undefined) {
      return;
    }
    const uri = editor.document.uri.toString();
    const argument: Record<string, unknown> = { uri, diagnostics: this.otherDiagnostics(editor.document.uri) };
    if (instruction.trim()) {
      argument.instruction = instruction.trim();
    }
    await this.runSession('pair.document', argument, uri);
  }

  async reviewFile(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor) {
      const uri = editor.document.uri.toString();
      await this.runSession('pair.review', { uri }, uri);
    }
  }

  async cancel(sessionId?: string): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const argument = typeof sessionId === 'string' ? { sessionId } : editor ? { uri: editor.document.uri.toString() } : {};
    const result = await this.server<{ cancelled: string[] }>('pair.cancel', argument);
    if (result && result.cancelled.length === 0) {
      void vscode.window.showInformationMessage('Pair: no session is running here.');
    }
  }

  async showTranscript(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const latest = editor ? this.statusBar.latestByUri.get(editor.document.uri.toString()) : undefined;
    await this.server('pair.showTranscript', latest ? { sessionId: latest.sessionId } : {});
  }

  /** Palette "Pair: Continue": the latest session of this file runs more rounds; the worker hears
   *  the hunks the user accepted or rejected (and why). */
  async previewSession(sessionId?: string): Promise<void> {
    let id = typeof sessionId === 'string' ? sessionId : undefined;
    if (!id) {
      const editor = vscode.window.activeTextEditor;
      id = editor ? this.statusBar.latestByUri.get(editor.document.uri.toString())?.sessionId : undefined;
    }
    const proposal = await this.server<{ sessionId: string; uri: string; proposed: string }>(
      'pair.proposal',
      id ? { sessionId: id } : {},
    );
    if (proposal) {
      await this.preview.show(proposal);
    }
  }
}

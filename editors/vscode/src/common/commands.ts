// The palette commands. Server commands (pair.selection, ...) run through
// workspace/executeCommand; they resolve when the session ends, so nothing here blocks the UI.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';
import { ProposalProvider } from './preview';
import { SessionStatusBar } from './statusBar';

interface PairResult {
  sessionId: string | null;
  status: string;
  rounds: number;
  findings: unknown[];
  summary: string;
  reason?: string;
  hasProposal?: boolean;
}

export class PairCommands {
  constructor(
    private readonly getClient: () => LanguageClient | undefined,
    private readonly statusBar: SessionStatusBar,
    private readonly preview: ProposalProvider,
  ) {}

  private client(): LanguageClient | undefined {
    const client = this.getClient();
    if (!client || !client.isRunning()) {
      void vscode.window.showErrorMessage('pair-lsp is not running (Pair: Restart Server).');
      return undefined;
    }
    return client;
  }

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
      void vscode.window.showErrorMessage(`Pair: ${(error as Error).message}`);
      return undefined;
    }
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

  async pairSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const client = this.client();
    if (!editor || !client) {
      return;
    }
    const instruction = await vscode.window.showInputBox({
      title: 'Pair on Selection',
      prompt: 'What should the worker do? (empty: improve and fix what is wrong)',
      placeHolder: 'e.g. handle empty lists',
    });
    if (instruction === undefined) {
      return;
    }
    const selection = editor.selection.isEmpty
      ? editor.document.lineAt(editor.selection.active.line).range
      : editor.selection;
    await this.runSession('pair.selection', {
      uri: editor.document.uri.toString(),
      range: client.code2ProtocolConverter.asRange(selection),
      instruction,
      diagnostics: this.otherDiagnostics(editor.document.uri, selection),
    });
  }

  async pairFile(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      return;
    }
    const instruction = await vscode.window.showInputBox({
      title: 'Pair on File',
      prompt: 'What should the worker do? (empty: improve and fix what is wrong)',
    });
    if (instruction === undefined) {
      return;
    }
    await this.runSession('pair.document', {
      uri: editor.document.uri.toString(),
      instruction,
      diagnostics: this.otherDiagnostics(editor.document.uri),
    });
  }

  async reviewFile(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor) {
      await this.runSession('pair.review', { uri: editor.document.uri.toString() });
    }
  }

  private async runSession(command: string, argument: object): Promise<void> {
    const result = await this.server<PairResult>(command, argument);
    if (!result || !result.sessionId) {
      return;
    }
    const n = result.findings?.length ?? 0;
    const rounds = `${result.rounds} round${result.rounds === 1 ? '' : 's'}`;
    const findings = n ? ` · ${n} finding${n === 1 ? '' : 's'}` : '';
    const why = result.reason && result.reason !== result.status ? ` (${result.reason})` : '';
    const message = `Pair ${result.status} in ${rounds}${findings}${why}`;
    const actions = result.hasProposal ? ['Apply', 'Preview', 'Show Transcript'] : ['Show Transcript'];
    const show =
      result.status === 'failed' ? vscode.window.showErrorMessage : vscode.window.showInformationMessage;
    const answer = await show(message, ...actions);
    if (answer === 'Apply') {
      await this.server('pair.apply', { sessionId: result.sessionId });
    } else if (answer === 'Preview') {
      await this.previewSession(result.sessionId);
    } else if (answer === 'Show Transcript') {
      await this.server('pair.showTranscript', { sessionId: result.sessionId });
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

// "Preview": VS Code's diff view between the document and the session's proposal.
import * as vscode from 'vscode';

export const SCHEME = 'pair-proposal';

export class ProposalProvider implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  async show(proposal: { sessionId: string; uri: string; proposed: string }): Promise<void> {
    const original = vscode.Uri.parse(proposal.uri);
    const name = original.path.split('/').pop() ?? 'file';
    const virtual = vscode.Uri.from({ scheme: SCHEME, path: `/${proposal.sessionId}/${name}` });
    this.contents.set(virtual.toString(), proposal.proposed);
    await vscode.commands.executeCommand('vscode.diff', original, virtual, `${name} ↔ Pair proposal`);
  }
}

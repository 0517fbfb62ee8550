// "Preview": VS Code's diff view between the document and the session's proposal, with Accept /
// Reject in its title bar (package.json: menus editor/title, when resourceScheme == pair-proposal).
import * as vscode from 'vscode';

export const SCHEME = 'pair-proposal';

/** The session a preview's URI (pair-proposal:/<sessionId>/<name>) belongs to. */
export function previewSession(uri: vscode.Uri | undefined): string | undefined {
  if (uri?.scheme !== SCHEME) {
    return undefined;
  }
  return uri.path.split('/')[1] || undefined;
}

/** The preview the user is looking at (its modified side), when the command came without one. */
export function activePreview(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputTextDiff && input.modified.scheme === SCHEME ? input.modified : undefined;
}

/** Closes the preview tabs of a session (after its Accept / Reject). */
export async function closePreviews(sessionId: string): Promise<void> {
  const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) =>
    tab.input instanceof vscode.TabInputTextDiff && previewSession(tab.input.modified) === sessionId);
  if (tabs.length) {
    await vscode.window.tabGroups.close(tabs);
  }
}

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

// A server restart loses every session it holds: findings, proposals, running sessions. Before
// "Restart Server" or a key change restarts it, say what would be lost and ask.
import * as vscode from 'vscode';

export class RestartGuard {
  /** Sessions whose last result holds a proposal not yet applied or discarded. */
  private readonly proposals = new Set<string>();

  noteResult(result: { sessionId: string; hasProposal?: boolean; status?: string }): void {
    if (result.hasProposal) {
      this.proposals.add(result.sessionId);
    } else {
      this.proposals.delete(result.sessionId);
    }
  }

  /** Applied, discarded, or running again: no longer a proposal to lose. */
  forget(sessionId: string): void {
    this.proposals.delete(sessionId);
  }

  clear(): void {
    this.proposals.clear();
  }

  /** "2 open findings, 1 proposal and 1 running session", or '' when nothing would be lost. */
  describeLoss(running: number): string {
    const findings = vscode.languages
      .getDiagnostics()
      .reduce((n, [, diagnostics]) => n + diagnostics.filter((d) => d.source === 'pair').length, 0);
    const parts: string[] = [];
    const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    if (findings) parts.push(count(findings, 'open finding'));
    if (this.proposals.size) parts.push(count(this.proposals.size, 'proposal'));
    if (running) parts.push(count(running, 'running session'));
    if (parts.length <= 1) return parts.join('');
    return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
  }

  /** True when the restart may go ahead (nothing to lose, or the user said so). */
  async confirm(why: string, running: number, button = 'Restart'): Promise<boolean> {
    const loss = this.describeLoss(running);
    if (!loss) {
      return true;
    }
    const answer = await vscode.window.showWarningMessage(
      `${why ? `${why} ` : ''}Restarting the pair-lsp server drops ${loss}: they cannot be applied or continued afterwards.`,
      { modal: true },
      button,
    );
    return answer === button;
  }
}

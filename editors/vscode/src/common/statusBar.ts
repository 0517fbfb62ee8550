// A status bar item while a session runs: "Pair · Round 2/3 · reviewer · 1.4k tok"; a click
// cancels that session.
import * as vscode from 'vscode';

export interface PairStatus {
  sessionId: string;
  uri: string;
  status: string;
  round: number;
  maxRounds: number;
  role: string;
  model: string;
  tokens: number;
}

export function formatTokens(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : `${n}`;
}

export class SessionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  private readonly running = new Map<string, PairStatus>();
  readonly latestByUri = new Map<string, PairStatus>();

  update(status: PairStatus): void {
    this.latestByUri.set(status.uri, status);
    if (status.status === 'running') {
      this.running.set(status.sessionId, status);
    } else {
      this.running.delete(status.sessionId);
    }
    this.render();
  }

  private render(): void {
    const sessions = [...this.running.values()];
    if (sessions.length === 0) {
      this.item.hide();
      return;
    }
    const s = sessions[sessions.length - 1];
    const more = sessions.length > 1 ? ` (+${sessions.length - 1})` : '';
    this.item.text = `$(sync~spin) Pair · Round ${Math.max(s.round, 1)}/${s.maxRounds} · ${s.role || 'starting'} · ${formatTokens(s.tokens)} tok${more}`;
    this.item.tooltip = `pair-lsp: ${s.role} ${s.model} — click to cancel`;
    this.item.command = { title: 'Cancel', command: 'pair.vscode.cancel', arguments: [s.sessionId] };
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}

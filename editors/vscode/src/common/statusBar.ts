// The one status bar item, driven by the server's pair/status `message` ("Pair · round 2/3 ·
// reviewer (claude-sonnet-4-5) · 1.4k tokens"); a click on a running session cancels it. The
// server's work-done progress is switched off (see server.ts), so nothing else shows the same
// session a second time. It also tracks the sessions for explicit commands' progress
// notifications and for the "what would a restart lose" question.
import * as vscode from 'vscode';
import { sessionTooltip } from './sessionInfo';

export interface PairStatus {
  sessionId: string;
  uri: string;
  status: string; // running | approved | exhausted | cancelled | failed | no_change
  mode?: string; // pair | review
  round: number;
  maxRounds: number;
  role: string;
  model: string;
  tokens: number;
  message?: string;
  notes?: string[];
}

export function formatTokens(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : `${n}`;
}

/** The server's line, or one built from the fields for a server that sends none. */
export function statusLine(s: PairStatus): string {
  if (s.message) {
    return s.message;
  }
  const round = s.maxRounds ? ` · round ${Math.max(s.round, 1)}/${s.maxRounds}` : '';
  return `Pair${round} · ${s.role || 'starting'} · ${formatTokens(s.tokens)} tokens`;
}

type Listener = (status: PairStatus) => void;

export class SessionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('pair.status', vscode.StatusBarAlignment.Left, 50);
  private readonly running = new Map<string, PairStatus>();
  private readonly listeners = new Set<Listener>();
  private hideTimer: NodeJS.Timeout | undefined;
  readonly latestByUri = new Map<string, PairStatus>();

  constructor() {
    this.item.name = 'Pair';
  }

  update(status: PairStatus): void {
    this.latestByUri.set(status.uri, status);
    if (status.status === 'running') {
      this.running.set(status.sessionId, status);
    } else {
      this.running.delete(status.sessionId);
    }
    for (const listener of [...this.listeners]) {
      listener(status);
    }
    this.render(status);
  }

  /** Calls `listener` with every status until the returned disposable is disposed. */
  onStatus(listener: Listener): vscode.Disposable {
    this.listeners.add(listener);
    return new vscode.Disposable(() => this.listeners.delete(listener));
  }

  runningCount(): number {
    return this.running.size;
  }

  /** The server restarted: nothing it ran is running any more. */
  reset(): void {
    this.running.clear();
    this.item.hide();
  }

  private render(last: PairStatus): void {
    clearTimeout(this.hideTimer);
    const sessions = [...this.running.values()];
    if (sessions.length > 0) {
      const s = sessions[sessions.length - 1];
      const more = sessions.length > 1 ? ` (+${sessions.length - 1} more)` : '';
      const waiting = s.role === 'plan'; // planApproval = ask: the plan waits for the user
      this.item.text = waiting ? `$(book) Pair · the plan waits for you${more}` : `$(sync~spin) ${statusLine(s)}${more}`;
      this.item.tooltip = sessionTooltip(s);
      this.item.command = waiting
        ? { title: 'Show Plan', command: 'pair.vscode.showPlan', arguments: [s.sessionId] }
        : { title: 'Cancel', command: 'pair.vscode.cancel', arguments: [s.sessionId] };
      this.item.backgroundColor = undefined;
      this.item.show();
      return;
    }
    // the last session's end, in the same words as its notification, for a little while
    const icon = last.status === 'approved' ? '$(check)' : last.status === 'failed' ? '$(error)' : '$(info)';
    this.item.text = `${icon} ${statusLine(last)}`;
    this.item.tooltip = 'Pair: click to show the transcript';
    this.item.command = { title: 'Show Transcript', command: 'pair.vscode.showTranscript' };
    this.item.show();
    this.hideTimer = setTimeout(() => this.item.hide(), 30000);
  }

  dispose(): void {
    clearTimeout(this.hideTimer);
    this.item.dispose();
  }
}

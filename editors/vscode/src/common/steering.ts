// You in the loop (issue 12): "Pair: Steer Session…" sends a note the running session's next
// worker turn (and that round's reviewers) reads (pair.steer); "Pair: Continue Session" runs
// more rounds of an ended session (pair.continue), with an optional new instruction. The
// sessions come from the server (pair.status); with one candidate there is nothing to pick.
import * as vscode from 'vscode';

interface SessionSummary {
  sessionId: string;
  uri: string;
  status: string;
  rounds: number;
  round?: number;
  maxRounds?: number;
  role?: string;
  message?: string;
  findings?: unknown[];
}

/** What this module needs from the rest of the extension (commands.ts). */
export interface SessionActions {
  server<T>(command: string, argument?: object): Promise<T | undefined>;
  runSession(command: string, argument: object, uri: string): Promise<void>;
}

interface SessionItem extends vscode.QuickPickItem {
  session?: SessionSummary;
  byId?: boolean;
}

function fileName(uri: string): string {
  try {
    return vscode.workspace.asRelativePath(vscode.Uri.parse(uri));
  } catch {
    return uri;
  }
}

function item(s: SessionSummary): SessionItem {
  const where = fileName(s.uri);
  const state = s.status === 'running'
    ? `running · round ${s.round ?? 1}/${s.maxRounds ?? '?'}${s.role ? ` · ${s.role}` : ''}`
    : `${s.status} after ${s.rounds} round${s.rounds === 1 ? '' : 's'}`;
  const open = s.findings?.length ? ` · ${s.findings.length} finding${s.findings.length === 1 ? '' : 's'}` : '';
  return { label: where, description: `${state}${open}`, detail: `session ${s.sessionId}`, session: s };
}

export class Steering {
  constructor(private readonly actions: SessionActions) {}

  private async sessions(): Promise<SessionSummary[] | undefined> {
    const status = await this.actions.server<{ sessions: SessionSummary[] }>('pair.status');
    return status?.sessions;
  }

  /** A note for a running session (for an ended one: kept for its next Continue). */
  async steer(sessionId?: string): Promise<void> {
    let session: SessionSummary | undefined;
    const sessions = await this.sessions();
    if (!sessions) {
      return;
    }
    if (typeof sessionId === 'string') {
      session = sessions.find((s) => s.sessionId === sessionId);
    } else {
      const running = sessions.filter((s) => s.status === 'running');
      const ended = sessions.filter((s) => s.status !== 'running').reverse();
      if (running.length === 1) {
        session = running[0];
      } else if (running.length + ended.length === 0) {
        void vscode.window.showInformationMessage('Pair: there is no session to steer. Start one (Pair on Selection, Pair on File).');
        return;
      } else {
        const items: SessionItem[] = [
          ...running.map(item),
          ...(ended.length ? [{ label: 'ended: the note waits for their next Continue', kind: vscode.QuickPickItemKind.Separator }] : []),
          ...ended.map(item),
        ];
        session = (await vscode.window.showQuickPick(items, { title: 'Pair: Steer Session…', placeHolder: 'Which session?' }))?.session;
      }
    }
    if (!session) {
      return;
    }
    const message = await vscode.window.showInputBox({
      title: `Pair: Steer ${fileName(session.uri)}`,
      prompt: session.status === 'running'
        ? "A note for the worker's next turn (and the reviewers of that round). Esc: cancel."
        : 'The session has ended: the note is kept for its next "Pair: Continue Session". Esc: cancel.',
      placeHolder: 'e.g. keep the public API',
      validateInput: (value) => (value.trim() ? undefined : 'Write the note (Esc cancels)'),
    });
    if (!message?.trim()) {
      return;
    }
    const done = await this.actions.server<{ ok: boolean }>('pair.steer', { sessionId: session.sessionId, message: message.trim() });
    if (done?.ok) {
      vscode.window.setStatusBarMessage(session.status === 'running'
        ? '$(comment) Pair: note sent; the next worker turn reads it'
        : '$(comment) Pair: note kept for the next Continue', 6000);
    }
  }

  /** More rounds of an ended session: the same session id, rounds counted on. */
  async continueSession(sessionId?: string): Promise<void> {
    const sessions = await this.sessions();
    if (!sessions) {
      return;
    }
    let session: SessionSummary | undefined = typeof sessionId === 'string'
      ? sessions.find((s) => s.sessionId === sessionId) : undefined;
    let id = session?.sessionId ?? (typeof sessionId === 'string' ? sessionId : undefined);
    if (!id) {
      const ended = sessions.filter((s) => s.status !== 'running' && s.status !== 'no_change').reverse();
      const items: SessionItem[] = [
        ...ended.map(item),
        { label: '$(history) A session by id…', description: 'from its transcript (e.g. after a restart)', byId: true },
      ];
      const picked = ended.length === 1 ? items[0]
        : await vscode.window.showQuickPick(items, { title: 'Pair: Continue Session', placeHolder: 'Which session?' });
      if (!picked) {
        return;
      }
      if (picked.byId) {
        id = (await vscode.window.showInputBox({ title: 'Pair: Continue Session', prompt: 'The session id (the transcript names it)',
          placeHolder: 'e.g. 3f9c2a1b7d40' }))?.trim();
      } else {
        session = picked.session;
        id = session?.sessionId;
      }
      if (!id) {
        return;
      }
    }
    const rounds = await vscode.window.showQuickPick(['2', '1', '3', '5'].map((n) => ({
      label: `${n} more round${n === '1' ? '' : 's'}`, rounds: Number(n),
    })), { title: 'Pair: Continue Session', placeHolder: 'How many more rounds? (Enter: 2)' });
    if (!rounds) {
      return;
    }
    const instruction = await vscode.window.showInputBox({
      title: 'Pair: Continue Session',
      prompt: 'A new instruction for the worker, or Enter to keep the session\'s. Esc: cancel.',
      placeHolder: 'e.g. also handle None',
    });
    if (instruction === undefined) {
      return;
    }
    const argument: Record<string, unknown> = { sessionId: id, rounds: rounds.rounds };
    if (instruction.trim()) {
      argument.instruction = instruction.trim();
    }
    const uri = session?.uri;
    if (uri) {
      // the server continues from the document as the editor holds it
      try {
        await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
      } catch {
        // the server says what is missing
      }
    }
    await this.actions.runSession('pair.continue', argument, uri ?? '');
  }
}

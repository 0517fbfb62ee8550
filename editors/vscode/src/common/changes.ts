// Pairing on the git change (issue 11): "Review Uncommitted Changes", "Review Staged Changes",
// "Review Changes Against Branch…" (pair.reviewChanges) and "Fix Changes' Findings"
// (pair.pairChanges), from the palette and the Source Control view's title bar. The server
// publishes the findings as diagnostics on every file they are on (opened or not), so they
// show in the Problems panel by themselves. What this module adds: a cancellable progress
// notification, the branch pick (the built-in git extension's API), and ONE notification at the
// end: the server's pair/result for a change session is held back here and shown together with
// what only the command's result holds (skipped files, notices, the WorkspaceEdit to apply).
import * as vscode from 'vscode';
import { CancellationTokenSource, ExecuteCommandRequest, LanguageClient, LSPErrorCodes } from 'vscode-languageclient/node';
import { PairResultNotification } from './results';
import { PairStatus, SessionStatusBar, statusLine } from './statusBar';

type Scope = 'uncommitted' | 'staged' | 'base' | 'commit';

interface ChangeRequest {
  scope: Scope;
  base?: string;
  instruction?: string;
}

interface ChangesResult {
  sessionId: string;
  status: string;
  reason?: string;
  rounds?: number;
  summary?: string;
  findings?: { file: string; severity: string }[];
  skipped?: { file: string; reason: string }[];
  notices?: string[];
  files?: string[];
  edit?: unknown;
}

/** A change command in flight: its session (from pair/status) and its pair/result, held back. */
interface Pending {
  root: string; // fsPath of the workspace folder: the server's uri for a change session
  sessionId?: string;
  result?: PairResultNotification;
}

// The built-in git extension's API (extensions/git/src/api/git.d.ts), the parts used here.
interface GitRef {
  type: number; // 0 head, 1 remote head, 2 tag
  name?: string;
  commit?: string;
}
interface GitRepository {
  rootUri: vscode.Uri;
  state: { HEAD?: GitRef; refs?: GitRef[] };
  getBranches?(query: { remote?: boolean }): Promise<GitRef[]>;
}
interface GitApi {
  repositories: GitRepository[];
  getRepository?(uri: vscode.Uri): GitRepository | null;
}

const SCOPE_WORDS: Record<Scope, string> = {
  uncommitted: 'uncommitted changes',
  staged: 'staged changes',
  base: 'changes against',
  commit: 'commit',
};

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => p.replace(/[\\/]+$/, '');
  return norm(a) === norm(b);
}

function fsPathOf(uri: string): string {
  try {
    return vscode.Uri.parse(uri).fsPath;
  } catch {
    return uri;
  }
}

export class ChangeCommands {
  private readonly pending = new Set<Pending>();
  /** Sessions the user cancelled: their late end (a server that ran on) is not announced. */
  private readonly cancelled = new Set<string>();

  constructor(
    private readonly getClient: () => LanguageClient | undefined,
    private readonly statusBar: SessionStatusBar,
    private readonly output: vscode.LogOutputChannel,
    private readonly showResult: (result: PairResultNotification) => void,
  ) {}

  /** pair/result of a change session this module started: held back (true) until its command
   *  answers, so that the user gets one notification, with the command's details. */
  claim(result: PairResultNotification): boolean {
    if (this.cancelled.delete(result.sessionId)) {
      return true;
    }
    const path = fsPathOf(result.uri);
    for (const pending of this.pending) {
      if (!pending.result && (pending.sessionId === result.sessionId || (!pending.sessionId && samePath(pending.root, path)))) {
        pending.result = result;
        return true;
      }
    }
    return false;
  }

  private root(): vscode.Uri | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      void vscode.window.showErrorMessage('Pair: open a folder (a git repository) to review its changes.');
    }
    return folder?.uri;
  }

  async reviewUncommitted(): Promise<void> {
    await this.review({ scope: 'uncommitted' });
  }

  async reviewStaged(): Promise<void> {
    await this.review({ scope: 'staged' });
  }

  async reviewAgainstBranch(): Promise<void> {
    const base = await this.pickBranch('Review Changes Against Branch');
    if (base) {
      await this.review({ scope: 'base', base });
    }
  }

  /** "Fix Changes' Findings": the pair loop on the change; its edit over every file is applied
   *  (or previewed) when the user says so. */
  async fixChanges(): Promise<void> {
    const picked = await vscode.window.showQuickPick(
      [
        { label: 'Uncommitted changes', description: 'staged, unstaged and new files against HEAD', scope: 'uncommitted' as const },
        { label: 'Changes against a branch…', description: 'everything since the merge base, plus uncommitted work', scope: 'base' as const },
      ],
      { title: "Pair: Fix Changes' Findings", placeHolder: 'Which change should the worker fix?' },
    );
    if (!picked) {
      return;
    }
    const request: ChangeRequest = { scope: picked.scope };
    if (picked.scope === 'base') {
      request.base = await this.pickBranch("Fix Changes' Findings Against Branch");
      if (!request.base) {
        return;
      }
    }
    const instruction = await vscode.window.showInputBox({
      title: "Pair: Fix Changes' Findings",
      prompt: 'Anything the worker should know? Enter: fix what the reviewer finds. Esc: cancel.',
      placeHolder: 'e.g. keep the public API',
    });
    if (instruction === undefined) {
      return;
    }
    if (instruction.trim()) {
      request.instruction = instruction.trim();
    }
    const outcome = await this.run('pair.pairChanges', request, `Pair: fixing the ${this.describe(request)}`);
    if (outcome) {
      await this.showFix(outcome.result, outcome.notification);
    }
  }

  private describe(request: ChangeRequest): string {
    return request.scope === 'base' ? `changes against ${request.base}` : SCOPE_WORDS[request.scope];
  }

  private async review(request: ChangeRequest): Promise<void> {
    const outcome = await this.run('pair.reviewChanges', request, `Pair: reviewing the ${this.describe(request)}`);
    if (outcome) {
      this.showReview(outcome.result, outcome.notification);
    }
  }

  /**
   * One change command with a cancellable progress notification. Cancel sends pair.cancel for
   * the session and $/cancelRequest for the command. Undefined: failed (said once) or cancelled.
   */
  private async run(command: string, request: ChangeRequest, title: string):
  Promise<{ result: ChangesResult; notification?: PairResultNotification } | undefined> {
    const client = this.getClient();
    const root = this.root();
    if (!client || !client.isRunning()) {
      void vscode.window.showErrorMessage('Pair: the pair-lsp server is not running (Pair: Restart Server).');
      return undefined;
    }
    if (!root) {
      return undefined;
    }
    const pending: Pending = { root: root.fsPath };
    this.pending.add(pending);
    const known = new Set([...this.statusBar.latestByUri.values()].map((s) => s.sessionId));
    let outcome: { result: ChangesResult; notification?: PairResultNotification } | undefined;
    try {
      outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        async (progress, token) => {
          const listening = this.statusBar.onStatus((status: PairStatus) => {
            if (!pending.sessionId && status.status === 'running' && !known.has(status.sessionId) &&
              samePath(fsPathOf(status.uri), pending.root)) {
              pending.sessionId = status.sessionId;
            }
            if (status.sessionId === pending.sessionId && status.status === 'running') {
              progress.report({ message: statusLine(status).replace(/^Pair · /, '') });
            }
          });
          const source = new CancellationTokenSource();
          let cancelled = false;
          const stopped = new Promise<undefined>((resolve) => {
            token.onCancellationRequested(() => {
              cancelled = true;
              if (pending.sessionId) {
                this.cancelled.add(pending.sessionId);
                // quietly: a server that does not know the session still gets $/cancelRequest
                client.sendRequest(ExecuteCommandRequest.type, {
                  command: 'pair.cancel', arguments: [{ sessionId: pending.sessionId }],
                }).catch((error: Error) => this.output.info(`pair.cancel: ${error.message}`));
              }
              source.cancel();
              resolve(undefined);
            });
          });
          try {
            const answer = client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [request] },
              source.token) as Promise<ChangesResult>;
            const result = await Promise.race([answer, stopped]);
            if (!result || cancelled) {
              answer.catch(() => undefined);
              return undefined;
            }
            return { result, notification: pending.result };
          } catch (error) {
            const code = (error as { code?: number }).code;
            if (!cancelled && code !== LSPErrorCodes.RequestCancelled && client.isRunning()) {
              const message = (error as Error).message ?? String(error);
              void vscode.window.showErrorMessage(message.startsWith('Pair') ? message : `Pair: ${message}`);
            }
            return undefined;
          } finally {
            listening.dispose();
            source.dispose();
          }
        },
      );
      return outcome;
    } finally {
      this.pending.delete(pending);
      if (pending.result && !outcome && !(pending.sessionId && this.cancelled.delete(pending.sessionId))) {
        this.showResult(pending.result); // held back, but no answer to show it with
      }
    }
  }

  /** The details only the command's result holds: in the output channel, and their count. */
  private logDetails(result: ChangesResult): string {
    const skipped = result.skipped ?? [];
    const notices = result.notices ?? [];
    for (const s of skipped) {
      this.output.info(`skipped ${s.file}: ${s.reason}`);
    }
    for (const n of notices) {
      this.output.info(`notice: ${n}`);
    }
    if (!skipped.length) {
      return '';
    }
    const named = skipped.slice(0, 3).map((s) => `${s.file} (${s.reason})`).join(', ');
    return ` Skipped: ${named}${skipped.length > 3 ? `, and ${skipped.length - 3} more` : ''}.`;
  }

  private showReview(result: ChangesResult, notification?: PairResultNotification): void {
    const count = result.findings?.length ?? 0;
    const base = notification?.message ?? `Pair: ${result.summary ?? `review ${result.status}`}`;
    const message = base + this.logDetails(result);
    const level = notification?.level ?? (result.status === 'failed' ? 'error' : count ? 'warning' : 'info');
    const buttons = [count ? 'Show Problems' : undefined,
      (result.skipped?.length || result.notices?.length) ? 'Details' : undefined,
      'Show Transcript'].filter((b): b is string => !!b);
    const show = level === 'error' ? vscode.window.showErrorMessage
      : level === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(message, ...buttons).then((answer) => {
      if (answer === 'Show Problems') {
        void vscode.commands.executeCommand('workbench.actions.view.problems');
      } else if (answer === 'Details') {
        this.output.show(true);
      } else if (answer === 'Show Transcript') {
        void this.getClient()?.sendRequest(ExecuteCommandRequest.type, {
          command: 'pair.showTranscript', arguments: [{ sessionId: result.sessionId }],
        }).catch(() => undefined);
      }
    });
  }

  private async showFix(result: ChangesResult, notification?: PairResultNotification): Promise<void> {
    const files = result.files ?? [];
    const message = (notification?.message ?? `Pair: ${result.status} after ${result.rounds ?? 0} round(s).`) +
      this.logDetails(result) + (result.reason && !result.edit && files.length ? ` The edit is withheld: ${result.reason}.` : '');
    const approved = result.status === 'approved';
    const buttons = result.edit ? [approved ? 'Apply' : 'Apply unapproved…', 'Preview'] : [];
    const level = notification?.level ?? (result.status === 'failed' ? 'error' : approved ? 'info' : 'warning');
    const show = level === 'error' ? vscode.window.showErrorMessage
      : level === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    const answer = await show(message, ...buttons);
    if (!answer || !result.edit) {
      return;
    }
    if (answer === 'Apply unapproved…') {
      const open = result.findings?.length ?? 0;
      const confirm = await vscode.window.showWarningMessage(
        `The reviewer did NOT approve these edits${open ? ` (${open} finding${open === 1 ? '' : 's'} open)` : ''}. Apply them anyway?`,
        { modal: true }, 'Apply unapproved edits');
      if (!confirm) {
        return;
      }
    }
    await this.applyEdit(result.edit, answer === 'Preview');
  }

  /** The server's versioned WorkspaceEdit: refused when an open file moved on since; with
   *  `preview`, VS Code's Refactor Preview shows every file's change before it is applied. */
  private async applyEdit(edit: unknown, preview: boolean): Promise<void> {
    const client = this.getClient();
    if (!client) {
      return;
    }
    const changes = (edit as { documentChanges?: { textDocument: { uri: string; version: number | null } }[] })
      .documentChanges ?? [];
    for (const change of changes) {
      const { uri, version } = change.textDocument;
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === vscode.Uri.parse(uri).toString());
      if (version !== null && version !== undefined && open && open.version !== version) {
        void vscode.window.showWarningMessage(`Pair: ${vscode.workspace.asRelativePath(open.uri)} changed since the ` +
          'session read it: the edits were not applied. Run "Fix Changes\' Findings" again.');
        return;
      }
    }
    const converted = await client.protocol2CodeConverter.asWorkspaceEdit(
      edit as Parameters<typeof client.protocol2CodeConverter.asWorkspaceEdit>[0]);
    if (!converted) {
      return;
    }
    let toApply = converted;
    if (preview) {
      toApply = new vscode.WorkspaceEdit();
      const metadata = { label: 'Pair: fix the change', needsConfirmation: true };
      for (const [uri, edits] of converted.entries()) {
        for (const e of edits) {
          toApply.replace(uri, e.range, e.newText, metadata);
        }
      }
    }
    const applied = await vscode.workspace.applyEdit(toApply);
    if (!applied && !preview) {
      void vscode.window.showWarningMessage('Pair: VS Code did not apply the edits (a file changed?).');
    }
  }

  /** A branch of the workspace's repository: the built-in git extension's branches, or a ref
   *  typed by the user (also what it falls back to without the git extension). */
  async pickBranch(title: string): Promise<string | undefined> {
    const branches = await this.branches();
    if (!branches.length) {
      const typed = await vscode.window.showInputBox({ title: `Pair: ${title}`, prompt: 'A branch or ref to compare with',
        placeHolder: 'e.g. main or origin/main' });
      return typed?.trim() || undefined;
    }
    return new Promise<string | undefined>((resolve) => {
      const pick = vscode.window.createQuickPick<vscode.QuickPickItem>();
      pick.title = `Pair: ${title}`;
      pick.placeholder = 'A branch (or type any ref)';
      pick.items = branches;
      let done = false;
      pick.onDidAccept(() => {
        done = true;
        const chosen = pick.selectedItems[0]?.label ?? pick.value.trim();
        resolve(chosen || undefined);
        pick.hide();
      });
      pick.onDidHide(() => {
        if (!done) {
          resolve(undefined);
        }
        pick.dispose();
      });
      pick.show();
    });
  }

  private async branches(): Promise<vscode.QuickPickItem[]> {
    const extension = vscode.extensions.getExtension<{ getAPI(version: 1): GitApi }>('vscode.git');
    if (!extension) {
      return [];
    }
    try {
      const api = (extension.isActive ? extension.exports : await extension.activate()).getAPI(1);
      const root = vscode.workspace.workspaceFolders?.[0]?.uri;
      const repository = (root && api.getRepository?.(root)) || api.repositories[0];
      if (!repository) {
        return [];
      }
      const refs = repository.getBranches ? await repository.getBranches({ remote: true })
        : repository.state.refs ?? [];
      const head = repository.state.HEAD?.name;
      return refs
        .filter((r) => r.name && (r.type === 0 || r.type === 1) && !r.name.endsWith('/HEAD'))
        .sort((a, b) => a.type - b.type)
        .map((r) => ({
          label: r.name as string,
          description: r.name === head ? 'current branch' : r.type === 1 ? 'remote branch' : undefined,
        }));
    } catch (error) {
      this.output.info(`git branches: ${(error as Error).message}`);
      return [];
    }
  }
}

// The inline diff: a session's proposal shown in the editor itself, hunk by hunk, until each is
// accepted or rejected. Nothing is written by showing it: the document keeps its text; the lines a
// hunk replaces are highlighted (red), the proposed lines follow them as read-only decoration text
// (green), and a CodeLens over each hunk offers Accept | Reject | Reject with reason…. Accepting
// runs pair.acceptHunk (the server sends that hunk alone as one workspace/applyEdit: one undo
// step); rejecting runs pair.rejectHunk (the worker hears the reason on pair.continue). After each
// decision, and after the user edits the document, the proposal is fetched again (the server
// re-bases the open hunks), so the view always shows the server's ranges for the current version.
import * as vscode from 'vscode';
import { LanguageClient, Range as LspRange } from 'vscode-languageclient/node';

export interface ProposalHunk {
  index: number;
  range: LspRange | null;
  newText: string;
  status: string; // open | accepted | rejected | pending (a running session's candidate)
  reason?: string;
}

export interface Proposal {
  sessionId: string;
  uri: string;
  version: number | null;
  status: string;
  approved: boolean;
  hunks: ProposalHunk[];
}

/** True while the active editor shows an inline diff with hunks to decide (package.json `when`). */
export const CONTEXT_KEY = 'pair.inlineDiffVisible';

export interface ShownHunk {
  index: number;
  total: number;
  range: vscode.Range;
  /** The lines the hunk covers (first..last), or the line it is inserted above (no old lines). */
  first: number;
  last: number;
  oldLines: string[];
  newLines: string[];
}

interface View {
  sessionId: string;
  uri: string;
  version: number;
  running: boolean;
  approved: boolean;
  hunks: ShownHunk[];
  decided: { accepted: number; rejected: number };
}

/** What the view needs from the rest of the extension. */
export interface InlineDiffHost {
  client(): LanguageClient | undefined;
  /** A server command whose error is shown once (undefined then). */
  server<T>(command: string, argument: object): Promise<T | undefined>;
  /** "Continue": the worker revises, hearing the decisions (a session with progress). */
  continueSession(sessionId: string, uri: string): Promise<void>;
}

const DEBOUNCE_MS = 300;
const NBSP = '\u00a0';

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

/** Spaces survive in decoration text (CSS `content` collapses ordinary ones). */
function visible(text: string): string {
  return text.replace(/\t/g, '    ').replace(/ /g, NBSP);
}

/** A hunk as lines: which document lines it replaces and the lines it proposes instead. */
export function shownHunk(document: vscode.TextDocument, index: number, total: number, range: vscode.Range,
  newText: string): ShownHunk {
  const wholeLines = range.end.character === 0 && range.end.line > range.start.line;
  const insertion = range.isEmpty && range.start.character === 0;
  if (insertion) {
    return { index, total, range, first: range.start.line, last: range.start.line - 1, oldLines: [],
      newLines: splitLines(newText) };
  }
  const first = range.start.line;
  const last = Math.min(wholeLines ? range.end.line - 1 : range.end.line, document.lineCount - 1);
  const oldLines: string[] = [];
  for (let line = first; line <= last; line++) {
    oldLines.push(document.lineAt(line).text);
  }
  const prefix = document.lineAt(first).text.slice(0, range.start.character);
  const suffix = wholeLines ? '' : document.lineAt(last).text.slice(range.end.character);
  const proposed = prefix + newText + suffix;
  return { index, total, range, first, last, oldLines, newLines: proposed === '' ? [] : splitLines(proposed) };
}

/** The line a hunk's CodeLens and cursor test use. */
function anchorLine(hunk: ShownHunk): number {
  return hunk.oldLines.length ? hunk.first : Math.max(0, hunk.first - 1);
}

function covers(hunk: ShownHunk, line: number): boolean {
  return hunk.oldLines.length ? hunk.first <= line && line <= hunk.last : line === anchorLine(hunk);
}

export class InlineDiff implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly views = new Map<string, View>(); // by document uri
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly fetching = new Map<string, Promise<void>>();
  private readonly stale = new Map<string, number>(); // fetches in a row that saw another version
  private busy: Promise<unknown> = Promise.resolve();
  private readonly lensChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensChanged.event;
  private readonly disposables: vscode.Disposable[] = [];

  // the replaced lines: a red bar at the line's start, the old text struck through on red
  private readonly removed = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
    borderWidth: '0 0 0 3px',
    borderStyle: 'solid',
    borderColor: new vscode.ThemeColor('editorGutter.deletedBackground'),
  });
  private readonly removedText = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
    textDecoration: 'line-through',
    opacity: '0.8',
  });
  private readonly added = vscode.window.createTextEditorDecorationType({
    after: {
      backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
      color: new vscode.ThemeColor('editor.foreground'),
      margin: '0 0 0 1.5em',
    },
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  // a running session's candidate (pair.inlineDiff.live): the lines it would replace, dimmed
  private readonly pending = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('diffEditor.removedLineBackground'),
    opacity: '0.6',
  });

  constructor(private readonly host: InlineDiffHost) {
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((event) => {
        const uri = event.document.uri.toString();
        if (this.views.has(uri) && event.contentChanges.length) {
          this.schedule(uri);
        }
      }),
      vscode.workspace.onDidCloseTextDocument((document) => this.dismiss(document.uri.toString())),
      vscode.window.tabGroups.onDidChangeTabs(() => {
        this.dismissClosed();
        this.renderAll();
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.renderAll()),
      vscode.window.tabGroups.onDidChangeTabGroups(() => this.renderAll()),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateContext()),
      vscode.window.onDidChangeTextEditorSelection(() => this.updateContext()),
    );
  }

  /** Settings: pair.inlineDiff.enabled (at a session's end), pair.inlineDiff.live (while it runs). */
  enabled(): boolean {
    return vscode.workspace.getConfiguration('pair').get<boolean>('inlineDiff.enabled', true);
  }

  live(): boolean {
    return this.enabled() && vscode.workspace.getConfiguration('pair').get<boolean>('inlineDiff.live', false);
  }

  shown(uri: string): View | undefined {
    return this.views.get(uri);
  }

  /** A session ended (pair/result): its proposal inline, or nothing left of an older view. */
  async sessionEnded(result: { sessionId: string; uri: string; hasProposal: boolean }): Promise<void> {
    if (result.hasProposal && this.enabled()) {
      await this.refresh(result.uri, result.sessionId); // after any live fetch still under way
    } else if (this.views.get(result.uri)?.sessionId === result.sessionId) {
      this.dismiss(result.uri);
    }
  }

  /** pair/status: a session runs on this document. Live: its candidate so far; else the old view
   *  (an older session's, or this one's before "Continue") goes. */
  sessionRunning(status: { sessionId: string; uri: string }): void {
    if (this.live()) {
      const view = this.views.get(status.uri);
      if (view && view.sessionId !== status.sessionId) {
        this.dismiss(status.uri);
      }
      this.schedule(status.uri, status.sessionId, true);
    } else if (this.views.has(status.uri)) {
      this.dismiss(status.uri);
    }
  }

  /** Shows (or refreshes) a session's proposal in its document. */
  async show(sessionId: string, uri?: string): Promise<void> {
    const proposal = await this.fetch(sessionId);
    const target = proposal?.uri ?? uri;
    if (!target) {
      return;
    }
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target);
    const open = proposal?.hunks.filter((h) => (h.status === 'open' || h.status === 'pending') && h.range) ?? [];
    if (!proposal || !document || open.length === 0) {
      const current = this.views.get(target);
      if (current && current.sessionId === sessionId) {
        this.dismiss(target);
      }
      return;
    }
    if (proposal.version !== null && proposal.version !== document.version) {
      // the server has not seen the latest change yet: its ranges are for another text
      const tries = (this.stale.get(target) ?? 0) + 1;
      this.stale.set(target, tries);
      if (tries <= 20) {
        this.schedule(target, sessionId);
      }
      return;
    }
    this.stale.delete(target);
    const client = this.host.client();
    if (!client) {
      return;
    }
    const total = proposal.hunks.length;
    const hunks = open.map((h) =>
      shownHunk(document, h.index, total, client.protocol2CodeConverter.asRange(h.range as LspRange), h.newText));
    const decided = {
      accepted: proposal.hunks.filter((h) => h.status === 'accepted').length,
      rejected: proposal.hunks.filter((h) => h.status === 'rejected').length,
    };
    this.views.set(target, { sessionId, uri: target, version: document.version,
      running: proposal.status === 'running', approved: proposal.approved, hunks, decided });
    this.render(target);
  }

  /** The proposal now, quietly: undefined when there is none (used up, discarded, withdrawn). */
  private async fetch(sessionId: string): Promise<Proposal | undefined> {
    const client = this.host.client();
    if (!client || !client.isRunning()) {
      return undefined;
    }
    try {
      return (await client.sendRequest('workspace/executeCommand',
        { command: 'pair.proposal', arguments: [{ sessionId }] })) as Proposal;
    } catch {
      return undefined;
    }
  }

  /** Fetches the view's proposal again after a quiet moment (typing); `throttle`: at most once
   *  per moment, however often asked (a live session's status while tokens stream). */
  schedule(uri: string, sessionId?: string, throttle = false): void {
    if (throttle && this.timers.has(uri)) {
      return;
    }
    clearTimeout(this.timers.get(uri));
    this.timers.set(uri, setTimeout(() => {
      this.timers.delete(uri);
      void this.refresh(uri, sessionId);
    }, DEBOUNCE_MS));
  }

  /** Re-fetches now (one fetch per document at a time; a later request runs after it). */
  async refresh(uri: string, sessionId?: string): Promise<void> {
    const id = sessionId ?? this.views.get(uri)?.sessionId;
    if (!id) {
      return;
    }
    const before = this.fetching.get(uri) ?? Promise.resolve();
    const next = before.then(() => this.show(id, uri)).catch(() => undefined);
    this.fetching.set(uri, next);
    await next;
    if (this.fetching.get(uri) === next) {
      this.fetching.delete(uri);
    }
  }

  /** After a server command that may change or use up a session's proposal (apply, discard, a
   *  code action's accept/reject): the view follows. */
  async afterCommand(command: string, argument: { sessionId?: string } | undefined): Promise<void> {
    if (!argument?.sessionId || !/^pair\.(apply|discard|acceptHunk|rejectHunk|markApplied)$/.test(command)) {
      return;
    }
    for (const view of [...this.views.values()]) {
      if (view.sessionId === argument.sessionId) {
        await this.refresh(view.uri);
      }
    }
  }

  dismiss(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    if (!this.views.delete(uri)) {
      return;
    }
    this.render(uri);
  }

  /** The server restarted: its sessions are gone. */
  clear(): void {
    for (const uri of [...this.views.keys()]) {
      this.dismiss(uri);
    }
  }

  private dismissClosed(): void {
    const open = new Set<string>();
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        if (tab.input instanceof vscode.TabInputText) {
          open.add(tab.input.uri.toString());
        } else if (tab.input instanceof vscode.TabInputTextDiff) {
          open.add(tab.input.original.toString());
          open.add(tab.input.modified.toString());
        }
      }
    }
    for (const uri of [...this.views.keys()]) {
      if (!open.has(uri)) {
        this.dismiss(uri);
      }
    }
  }

  // ------------------------------------------------------------------ rendering

  private renderAll(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      this.paint(editor);
    }
    this.updateContext();
  }

  private render(uri: string): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === uri) {
        this.paint(editor);
      }
    }
    this.lensChanged.fire();
    this.updateContext();
  }

  /** An editor inside a diff tab (the preview): the diff shows the proposal there already. By
   *  its group's active tab; without a column to go by, when only diff tabs show the file. */
  private inDiffTab(editor: vscode.TextEditor): boolean {
    const uri = editor.document.uri.toString();
    const isText = (input: unknown) => input instanceof vscode.TabInputText && input.uri.toString() === uri;
    const isDiff = (input: unknown) => input instanceof vscode.TabInputTextDiff &&
      (input.original.toString() === uri || input.modified.toString() === uri);
    const groups = vscode.window.tabGroups.all;
    const own = groups.find((g) => g.viewColumn === editor.viewColumn)?.activeTab?.input;
    if (isText(own) || isDiff(own)) {
      return isDiff(own);
    }
    return !groups.some((g) => isText(g.activeTab?.input)) && groups.some((g) => isDiff(g.activeTab?.input));
  }

  private paint(editor: vscode.TextEditor): void {
    const view = this.inDiffTab(editor) ? undefined : this.views.get(editor.document.uri.toString());
    const removed: vscode.DecorationOptions[] = [];
    const removedText: vscode.Range[] = [];
    const added: vscode.DecorationOptions[] = [];
    const pending: vscode.DecorationOptions[] = [];
    for (const hunk of view?.hunks ?? []) {
      const lines = editor.document;
      const after = (line: number, text: string) => {
        const end = lines.lineAt(line).range.end;
        return { range: new vscode.Range(end, end), renderOptions: { after: { contentText: text } } };
      };
      const hover = this.hoverText(hunk, view?.running ?? false);
      for (let line = hunk.first; line <= hunk.last; line++) {
        const range = lines.lineAt(line).range;
        (view?.running ? pending : removed).push({ range, hoverMessage: hover });
        const text = lines.lineAt(line);
        if (!view?.running && !text.isEmptyOrWhitespace) {
          removedText.push(new vscode.Range(line, text.firstNonWhitespaceCharacterIndex, line, range.end.character));
        }
      }
      // beside the old lines: the new ones without the indentation they all share
      const indent = Math.min(...[...hunk.oldLines, ...hunk.newLines].filter((l) => l.trim())
        .map((l) => l.length - l.trimStart().length), 1000);
      const shown = hunk.newLines.map((l) => visible(l.slice(Math.min(indent, l.length - l.trimStart().length))));
      if (hunk.oldLines.length === 0) {
        // inserted above `first`: shown at the end of the line before it (or of the first line)
        const at = anchorLine(hunk);
        const text = `${hunk.first === 0 ? '↑ inserted above: ' : '＋ '}${shown.join('  ⏎  ')}`;
        added.push({ ...after(at, `${NBSP}${text}${NBSP}`), hoverMessage: hover });
        continue;
      }
      const n = hunk.oldLines.length;
      for (let i = 0; i < n; i++) {
        const line = hunk.first + i;
        const mine = i < n - 1 ? shown.slice(i, i + 1) : shown.slice(i);
        const text = mine.length ? `→ ${mine.join('  ⏎  ')}` : i === 0 ? '✕ removed' : '';
        if (text) {
          added.push({ ...after(line, `${NBSP}${text}${NBSP}`), hoverMessage: hover });
        }
      }
    }
    editor.setDecorations(this.removed, removed);
    editor.setDecorations(this.removedText, removedText);
    editor.setDecorations(this.added, added);
    editor.setDecorations(this.pending, pending);
  }

  private hoverText(hunk: ShownHunk, running: boolean): vscode.MarkdownString {
    const diff = [...hunk.oldLines.map((l) => `- ${l}`), ...hunk.newLines.map((l) => `+ ${l}`)].join('\n');
    const md = new vscode.MarkdownString(`**Pair: hunk ${hunk.index}/${hunk.total}**` +
      (running ? ' (the session is still running)' : '') + '\n\n```diff\n' + diff.replace(/```/g, '` ` `') + '\n```\n');
    if (!running) {
      const arg = encodeURIComponent(JSON.stringify([{ hunk: hunk.index }]));
      md.appendMarkdown(`\n[Accept](command:pair.vscode.acceptHunk?${arg}) · ` +
        `[Reject](command:pair.vscode.rejectHunk?${arg}) · ` +
        `[Reject with reason…](command:pair.vscode.rejectHunkWithReason?${arg})`);
      md.isTrusted = { enabledCommands: ['pair.vscode.acceptHunk', 'pair.vscode.rejectHunk',
        'pair.vscode.rejectHunkWithReason'] };
    }
    return md;
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const view = this.views.get(document.uri.toString());
    if (!view || view.version !== document.version) {
      return [];
    }
    const lenses: vscode.CodeLens[] = [];
    for (const hunk of view.hunks) {
      const line = anchorLine(hunk);
      const range = new vscode.Range(line, 0, line, 0);
      if (view.running) {
        lenses.push(new vscode.CodeLens(range, { title: `Pair hunk ${hunk.index}/${hunk.total} (running…)`, command: '' }));
        continue;
      }
      const arg = { uri: view.uri, hunk: hunk.index };
      lenses.push(
        new vscode.CodeLens(range, { title: `$(check) Accept hunk ${hunk.index}/${hunk.total}` +
          (view.approved ? '' : ' (not approved)'),
          command: 'pair.vscode.acceptHunk', arguments: [arg] }),
        new vscode.CodeLens(range, { title: '$(close) Reject', command: 'pair.vscode.rejectHunk', arguments: [arg] }),
        new vscode.CodeLens(range, { title: 'Reject with reason…', command: 'pair.vscode.rejectHunkWithReason',
          arguments: [arg] }),
      );
    }
    return lenses;
  }

  private updateContext(): void {
    const editor = vscode.window.activeTextEditor;
    const view = editor ? this.views.get(editor.document.uri.toString()) : undefined;
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, !!view && !view.running && view.hunks.length > 0);
  }

  // ------------------------------------------------------------------ commands

  /** The hunk a command is for: its arguments', else the one at the cursor (else the nearest). */
  private target(argument?: { uri?: string; hunk?: number }): { view: View; hunk: ShownHunk } | undefined {
    const editor = vscode.window.activeTextEditor;
    const uri = argument?.uri ?? editor?.document.uri.toString();
    const view = uri ? this.views.get(uri) : undefined;
    if (!view || view.running || view.hunks.length === 0) {
      void vscode.window.showInformationMessage('Pair: no inline diff is shown here.');
      return undefined;
    }
    if (typeof argument?.hunk === 'number') {
      const hunk = view.hunks.find((h) => h.index === argument.hunk);
      return hunk ? { view, hunk } : undefined;
    }
    const line = editor?.selection.active.line ?? 0;
    const at = view.hunks.find((h) => covers(h, line));
    const nearest = at ?? [...view.hunks].sort((a, b) =>
      Math.abs(anchorLine(a) - line) - Math.abs(anchorLine(b) - line))[0];
    return { view, hunk: nearest };
  }

  /** One decision at a time (a second key press waits for the first's re-render). */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.busy.then(work, work);
    this.busy = next.catch(() => undefined);
    return next;
  }

  acceptHunk(argument?: { uri?: string; hunk?: number }): Promise<void> {
    return this.serial(async () => {
      const target = this.target(argument);
      if (!target) {
        return;
      }
      const { view, hunk } = target;
      const outcome = await this.host.server<{ applied: boolean }>('pair.acceptHunk',
        { sessionId: view.sessionId, hunk: hunk.index });
      await this.settled(view, outcome?.applied ? 1 : 0, 0);
    });
  }

  rejectHunk(argument?: { uri?: string; hunk?: number }, askReason = false): Promise<void> {
    return this.serial(async () => {
      const target = this.target(argument);
      if (!target) {
        return;
      }
      const { view, hunk } = target;
      let reason: string | undefined;
      if (askReason) {
        reason = await vscode.window.showInputBox({
          title: `Reject hunk ${hunk.index}/${hunk.total}`,
          prompt: 'Why? The worker reads it when you continue the session (Pair: Continue).',
          placeHolder: 'e.g. keep ints: values are counts',
        });
        if (reason === undefined) {
          return;
        }
      }
      const argument2: Record<string, unknown> = { sessionId: view.sessionId, hunk: hunk.index };
      if (reason?.trim()) {
        argument2.reason = reason.trim();
      }
      const outcome = await this.host.server<{ rejected: boolean }>('pair.rejectHunk', argument2);
      await this.settled(view, 0, outcome?.rejected ? 1 : 0);
    });
  }

  acceptAll(): Promise<void> {
    return this.serial(async () => {
      const target = this.target();
      if (!target) {
        return;
      }
      // the server applies the open hunks as one edit (and asks first if they are unapproved)
      const outcome = await this.host.server<{ applied: boolean; reason?: string }>('pair.apply',
        { sessionId: target.view.sessionId });
      if (outcome && !outcome.applied && outcome.reason) {
        void vscode.window.showWarningMessage(`Pair: the edit was not applied: ${outcome.reason}.`);
      }
      await this.refresh(target.view.uri);
    });
  }

  rejectAll(): Promise<void> {
    return this.serial(async () => {
      const target = this.target();
      if (!target) {
        return;
      }
      const { view } = target;
      let rejected = 0;
      for (const hunk of view.hunks) {
        const outcome = await this.host.server<{ rejected: boolean }>('pair.rejectHunk',
          { sessionId: view.sessionId, hunk: hunk.index });
        rejected += outcome?.rejected ? 1 : 0;
      }
      await this.settled(view, 0, rejected);
    });
  }

  /** Moves the cursor to the next (or previous) hunk, wrapping around. */
  async go(step: 1 | -1): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const view = editor ? this.views.get(editor.document.uri.toString()) : undefined;
    if (!editor || !view || view.hunks.length === 0) {
      return;
    }
    const line = editor.selection.active.line;
    const lines = view.hunks.map(anchorLine).sort((a, b) => a - b);
    const next = step > 0
      ? lines.find((l) => l > line) ?? lines[0]
      : [...lines].reverse().find((l) => l < line) ?? lines[lines.length - 1];
    const position = new vscode.Position(next, editor.document.lineAt(next).firstNonWhitespaceCharacterIndex);
    editor.selection = new vscode.Selection(position, position);
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /** After a decision: the view again; once every hunk is decided and some were rejected, the
   *  worker can revise ("Continue": it hears which and why). The server lists no used-up
   *  proposal, so the counts are the view's last ones plus these decisions. */
  private async settled(view: View, accepted: number, rejected: number): Promise<void> {
    await this.refresh(view.uri);
    if (this.views.get(view.uri)?.sessionId === view.sessionId) {
      return;
    }
    const yes = view.decided.accepted + accepted;
    const no = view.decided.rejected + rejected;
    if (no === 0) {
      return;
    }
    const words = (n: number, what: string) => `${n} hunk${n === 1 ? '' : 's'} ${what}`;
    // not awaited: the next decision (another file's) need not wait for this answer
    void vscode.window.showInformationMessage(
      `Pair: ${words(yes, 'accepted')}, ${words(no, 'rejected')}. Continue to let the worker revise?`,
      'Continue').then((answer) => {
      if (answer === 'Continue') {
        void this.host.continueSession(view.sessionId, view.uri);
      }
    });
  }

  dispose(): void {
    for (const timer of this.timers.values()) {
      clearTimeout(timer);
    }
    this.disposables.forEach((d) => d.dispose());
    this.removed.dispose();
    this.removedText.dispose();
    this.added.dispose();
    this.pending.dispose();
    this.lensChanged.dispose();
  }
}

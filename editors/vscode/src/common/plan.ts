// The plan step with planApproval = "ask" (issue 12): on pair/plan the session waits after its
// reviewed plan. The plan opens as a Markdown document and one notification offers Proceed /
// Edit / Cancel; "Edit" focuses the document, and Proceed (the notification's, the editor title's
// or the palette's "Pair: Proceed with Plan") sends the document's text as the editor holds it
// (pair.proceed {sessionId, plan}), saved first so the file says what the loop used.
import * as vscode from 'vscode';
import { PairStatus } from './statusBar';

export interface PlanNotification {
  sessionId: string;
  uri: string;
  planPath?: string;
}

export interface PlanActions {
  server<T>(command: string, argument?: object): Promise<T | undefined>;
}

const CONTEXT_KEY = 'pair.planWaiting';

export class PlanApproval implements vscode.Disposable {
  private readonly waiting = new Map<string, PlanNotification>();

  constructor(private readonly actions: PlanActions) {}

  private setContext(): void {
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, this.waiting.size > 0);
  }

  /** pair/plan: show the plan and ask. */
  async onPlan(plan: PlanNotification): Promise<void> {
    this.waiting.set(plan.sessionId, plan);
    this.setContext();
    await this.showPlan(plan, false);
    await this.ask(plan, 'Pair: the worker\'s plan is ready (reviewed). Read it, edit it if you like, then Proceed.', true);
  }

  private async showPlan(plan: PlanNotification, focus: boolean): Promise<vscode.TextEditor | undefined> {
    try {
      const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(plan.uri));
      return await vscode.window.showTextDocument(document, { preview: false, preserveFocus: !focus });
    } catch {
      return undefined; // the server's window/showDocument may still have shown it
    }
  }

  private async ask(plan: PlanNotification, message: string, offerEdit: boolean): Promise<void> {
    const buttons = offerEdit ? ['Proceed', 'Edit', 'Cancel'] : ['Proceed', 'Cancel'];
    const answer = await vscode.window.showInformationMessage(message, ...buttons);
    if (!this.waiting.has(plan.sessionId)) {
      return; // proceeded or cancelled elsewhere meanwhile
    }
    if (answer === 'Proceed') {
      await this.proceed(plan.sessionId);
    } else if (answer === 'Cancel') {
      await this.cancel(plan.sessionId);
    } else if (answer === 'Edit') {
      await this.showPlan(plan, true);
      await this.ask(plan, 'Pair: edit the plan, then Proceed (the text in the editor is the plan the loop uses).', false);
    }
  }

  /** The status bar item's click: the plan again, and the question. */
  async reopen(sessionId?: string): Promise<void> {
    const plan = this.pick(sessionId);
    if (plan) {
      await this.showPlan(plan, true);
      await this.ask(plan, 'Pair: the session waits for its plan. Proceed with the text in the editor?', false);
    }
  }

  private pick(sessionId?: string): PlanNotification | undefined {
    if (typeof sessionId === 'string') {
      return this.waiting.get(sessionId);
    }
    const active = vscode.window.activeTextEditor?.document.uri.toString();
    const plans = [...this.waiting.values()];
    return plans.find((p) => vscode.Uri.parse(p.uri).toString() === active) ?? plans[plans.length - 1];
  }

  /** Proceed with the plan document's text as the editor holds it. */
  async proceed(sessionId?: string): Promise<void> {
    const plan = this.pick(sessionId);
    if (!plan) {
      void vscode.window.showInformationMessage('Pair: no session is waiting for its plan.');
      return;
    }
    const target = vscode.Uri.parse(plan.uri).toString();
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target);
    const argument: Record<string, unknown> = { sessionId: plan.sessionId };
    if (document) {
      argument.plan = document.getText();
      if (document.isDirty) {
        await document.save();
      }
    }
    this.waiting.delete(plan.sessionId);
    this.setContext();
    await this.actions.server('pair.proceed', argument);
  }

  async cancel(sessionId?: string): Promise<void> {
    const plan = this.pick(sessionId);
    if (!plan) {
      return;
    }
    this.waiting.delete(plan.sessionId);
    this.setContext();
    await this.actions.server('pair.cancel', { sessionId: plan.sessionId });
  }

  /** A session that ended (cancelled, failed) is not waiting any more. (Its role is not used:
   *  a status coalesced before the plan may arrive after pair/plan.) */
  onStatus(status: PairStatus): void {
    if (this.waiting.has(status.sessionId) && status.status !== 'running') {
      this.waiting.delete(status.sessionId);
      this.setContext();
    }
  }

  /** The server restarted: nothing waits any more. */
  reset(): void {
    this.waiting.clear();
    this.setContext();
  }

  dispose(): void {
    this.waiting.clear();
  }
}

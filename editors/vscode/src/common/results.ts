// The end of a session, shown once: the server sends pair/result exactly once per session end
// (commands, code actions, "Continue", review on save) and no showMessage of its own for it
// (initializationOptions.resultNotifications). One notification with the result's actions as
// buttons; errors through showErrorMessage. A button of an older notification (in the
// notification center) still works, or says why not.
import * as vscode from 'vscode';
import { MessageActionItem, MessageType, ShowMessageRequestParams } from 'vscode-languageclient/node';

export interface PairResultNotification {
  sessionId: string;
  uri: string;
  status: string;
  reason?: string;
  rounds: number;
  openFindings: number;
  hasProposal: boolean;
  approved: boolean;
  message: string;
  level: 'info' | 'warning' | 'error';
  actions: string[];
  notes?: string[];
}

export const ACTION_LABELS: Record<string, string> = {
  apply: 'Apply',
  applyUnapproved: 'Apply unapproved…',
  preview: 'Preview',
  continue: 'Continue',
  discard: 'Discard',
  retry: 'Retry',
  openSettings: 'Open Settings',
  showTranscript: 'Show Transcript',
};

/** What the buttons do: server commands through one place that reports errors once. */
export interface ResultActions {
  server<T>(command: string, argument: object): Promise<T | undefined>;
  runSession(command: string, argument: object, uri: string): Promise<void>;
  preview(sessionId: string): Promise<void>;
}

export function unapprovedQuestion(result: { openFindings?: number }): string {
  const n = result.openFindings ?? 0;
  const open = n ? ` (${n} finding${n === 1 ? '' : 's'} open)` : '';
  return `The reviewer did NOT approve this edit${open}. Apply it anyway?`;
}

export class ResultNotifier {
  constructor(private readonly actions: ResultActions) {}

  show(result: PairResultNotification): void {
    const labels = (result.actions ?? []).filter((a) => a in ACTION_LABELS).map((a) => ACTION_LABELS[a]);
    const show =
      result.level === 'error'
        ? vscode.window.showErrorMessage
        : result.level === 'warning'
          ? vscode.window.showWarningMessage
          : vscode.window.showInformationMessage;
    void show(result.message, ...labels).then((label) => {
      const action = Object.keys(ACTION_LABELS).find((key) => ACTION_LABELS[key] === label);
      if (action) {
        void this.run(action, result);
      }
    });
  }

  async run(action: string, result: PairResultNotification): Promise<void> {
    const sessionId = result.sessionId;
    switch (action) {
      case 'apply':
        await this.apply({ sessionId });
        return;
      case 'applyUnapproved': {
        const answer = await vscode.window.showWarningMessage(unapprovedQuestion(result), { modal: true },
          'Apply unapproved edit');
        if (answer) {
          await this.apply({ sessionId, confirmed: true });
        }
        return;
      }
      case 'preview':
        return this.actions.preview(sessionId);
      case 'continue':
        return this.actions.runSession('pair.continue', { sessionId }, result.uri);
      case 'retry':
        return this.actions.runSession('pair.retry', { sessionId }, result.uri);
      case 'discard':
        await this.actions.server('pair.discard', { sessionId });
        return;
      case 'openSettings':
        await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:pair-lsp.pair-lsp');
        return;
      case 'showTranscript':
        await this.actions.server('pair.showTranscript', { sessionId });
        return;
    }
  }

  /** The preview's Accept: the open hunks as one edit (the server asks first if unapproved). */
  async applyFromPreview(sessionId: string): Promise<boolean> {
    return this.apply({ sessionId });
  }

  private async apply(argument: { sessionId: string; confirmed?: boolean }): Promise<boolean> {
    const outcome = await this.actions.server<{ applied: boolean; reason?: string }>('pair.apply', argument);
    if (outcome && !outcome.applied) {
      // e.g. an old notification's Apply after the file changed or the session was discarded
      void vscode.window.showWarningMessage(`Pair: the edit was not applied: ${outcome.reason ?? 'no reason given'}.`);
    }
    return !!outcome?.applied;
  }
}

/**
 * The server's own questions (window/showMessageRequest). Its confirmation of an unapproved
 * apply (from the code action "Pair: Apply unapproved edit…") is a modal, as the notification's
 * button asks; anything else is a notification of its level.
 */
export async function answerServerQuestion(params: ShowMessageRequestParams): Promise<MessageActionItem | null> {
  const actions = params.actions ?? [];
  if (actions.some((a) => /unapproved/i.test(a.title))) {
    const confirm = actions.filter((a) => a.title !== 'Cancel');
    return (await vscode.window.showWarningMessage(params.message, { modal: true }, ...confirm)) ?? null;
  }
  const show =
    params.type === MessageType.Error
      ? vscode.window.showErrorMessage
      : params.type === MessageType.Warning
        ? vscode.window.showWarningMessage
        : vscode.window.showInformationMessage;
  return (await show(params.message, ...actions)) ?? null;
}

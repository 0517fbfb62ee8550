// The status bar item's tooltip for a running session: what the server's pair/status says about
// the loop (issue 12): the round, who is at work (the worker, every reviewer of the round, the
// proof, or the plan waiting for you), the tokens, and the session's notes.
import * as vscode from 'vscode';
import { formatTokens, PairStatus, statusLine } from './statusBar';

const ROLE_WORDS: Record<string, string> = {
  worker: 'the worker is writing',
  reviewer: 'reviewing',
  proof: 'the proof is running (on a temporary copy of the workspace)',
  plan: 'the plan waits for you: Proceed, edit it, or Cancel',
};

export function sessionTooltip(status: PairStatus): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${statusLine(status).replace(/^Pair · /, 'Pair: ')}**\n\n`);
  const role = ROLE_WORDS[status.role] ?? status.role;
  if (role) {
    const model = status.model && status.role !== 'proof' && status.role !== 'plan' ? ` (${status.model})` : '';
    md.appendMarkdown(`- Now: ${role}${model}\n`);
  }
  if (status.maxRounds) {
    md.appendMarkdown(`- Round ${Math.max(status.round, 1)} of ${status.maxRounds} · ${formatTokens(status.tokens)} tokens\n`);
  }
  // "proof: passed (2.1 s)" rides on the server's line
  const proof = /proof: [^·]+/.exec(status.message ?? '')?.[0].trim();
  if (proof) {
    md.appendMarkdown(`- Last ${proof}\n`);
  }
  for (const note of status.notes ?? []) {
    md.appendMarkdown(`- ${note}\n`);
  }
  md.appendMarkdown(status.role === 'plan' ? '\nClick to see the plan.' : '\nClick to cancel this session · "Pair: Steer Session…" to add a note.');
  return md;
}

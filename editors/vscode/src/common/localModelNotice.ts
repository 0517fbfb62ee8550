// With no API key for a role, the server falls back to the small offline model (its session
// notes say "no key for openai:gpt-5-codex (set OPENAI_API_KEY); using the local model"). Say so
// once per window, with a way to set a key, instead of letting a weak model run silently.
import * as vscode from 'vscode';

const LOCAL = /using the local model|local fallback/i;

export class LocalModelNotice {
  private shown = false;

  constructor(private readonly setKeyCommand: string) {}

  /** Looks at a pair/status or pair/result payload's notes (and message). */
  check(payload: { notes?: unknown; message?: unknown }): void {
    if (this.shown) {
      return;
    }
    const notes = Array.isArray(payload.notes) ? payload.notes.filter((n) => typeof n === 'string') : [];
    const local = notes.find((note) => LOCAL.test(note));
    if (!local) {
      return;
    }
    this.shown = true;
    const which = /no key for ([^\s(]+)/.exec(local)?.[1];
    const detail = which ? ` (no key for ${which})` : '';
    void vscode.window
      .showInformationMessage(
        `Pair is using the offline local model${detail}: set an API key for better results.`,
        'Set API Key',
      )
      .then((answer) => {
        if (answer) {
          void vscode.commands.executeCommand(this.setKeyCommand);
        }
      });
  }
}

"""GBNF grammars that force a model's reply into the protocol, for providers that decode under
a grammar (the embedded llama.cpp model): built per request from the text the reply quotes.

- :func:`worker_grammar`: an optional one-line note, then SEARCH/REPLACE blocks whose SEARCH
  part can only be a run of whole, consecutive lines of the current target that occurs exactly
  once in it (so it always matches), blocks in the target's order without overlap, REPLACE any
  lines, and nothing after the last ``>>>>>>> REPLACE``.
- :func:`review_grammar`: the reviewer's JSON verdict (protocol.REVIEW_SCHEMA's properties in
  its order), a "revise" with one to three findings, an "approve" with at most three; each
  finding (ids F1, F2, F3 in order) quotes one line of the candidate with that line's number;
  strings are bounded so the verdict fits a small token cap.

Hosted providers never see these: the session builds a grammar only for a provider that says
it decodes under one (``constrained``).
"""

from __future__ import annotations

import json

from pair_lsp.loop.protocol import DIVIDER, REPLACE_MARK, SEARCH_MARK

MAX_LINES = 400  # larger targets get no grammar (its alternatives would slow every token)
MAX_RUN = 12  # a SEARCH start needing more lines than this to be unique is not offered
NOTE_CHARS = 160
LINE_CHARS = 160
MAX_BLOCKS = 3
MAX_FINDINGS = 3
QUOTE_CHARS = 120  # a candidate line longer than this is quoted by its first characters
MESSAGE_CHARS = 150
SUGGESTION_CHARS = 100
SUMMARY_CHARS = 150


def literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _count(text: str, needle: str) -> int:
    """Occurrences of ``needle`` in ``text``, overlapping ones too (as matching.py counts)."""
    count, i = 0, text.find(needle)
    while i >= 0:
        count += 1
        if count > 1:
            return count
        i = text.find(needle, i + 1)
    return count


def unique_runs(target: str) -> dict[int, int]:
    """For each 0-based line ``i`` a SEARCH may start at: the fewest lines from ``i`` whose
    text (joined by newlines, as a parsed block holds it) occurs exactly once in ``target``
    and is not blank. Lines with no such run within :data:`MAX_RUN` are left out."""
    lines = _lines(target)
    out: dict[int, int] = {}
    for i in range(len(lines)):
        for size in range(1, min(MAX_RUN, len(lines) - i) + 1):
            needle = "\n".join(lines[i:i + size])
            if needle.strip() and _count(target, needle) == 1:
                out[i] = size
                break
    return out


def worker_grammar(target: str) -> str | None:
    """The worker's reply grammar for ``target`` (the current TARGET text, '\\n' endings), or
    None when no block could be written against it (empty, too long, no unique line)."""
    lines = _lines(target)
    if not lines or len(lines) > MAX_LINES:
        return None
    starts = unique_runs(target)
    if not starts:
        return None
    n = len(lines)
    rules = [
        f'root ::= note? {literal(SEARCH_MARK + chr(10))} from{min(starts)}',
        f'note ::= [^<\\n] [^\\n]{{0,{NOTE_CHARS - 1}}} "\\n" "\\n"?',
        # a REPLACE line never starts a marker (<<<<<<<, =======, >>>>>>>) or a ``` fence
        f'rline ::= (rfirst [^\\n]{{0,{LINE_CHARS - 2}}})? "\\n"',
        'rfirst ::= [^<>=`\\n] | "<" [^<\\n] | "=" [^=\\n] | "`" [^`\\n] | ">" [^>\\n]',
        f"replace ::= rline{{0,{min(n, 60) + 4}}}",
    ]
    # from_k: a block's SEARCH starting at line k or later; run_i: the SEARCH holds line i and
    # may end there (end_i) or go on; end_i: the rest of a block whose SEARCH ended at line i,
    # then the end, or another block quoting only lines after i
    first_from = {k: next((s for s in sorted(starts) if s >= k), None) for k in range(n + 1)}
    for k in range(n):
        alts = [f"start{s}" for s in sorted(starts) if s >= k]
        if alts and first_from[k] == k:
            rules.append(f"from{k} ::= " + " | ".join(alts))
    for s, size in starts.items():
        mandatory = " ".join(literal(lines[j] + "\n") for j in range(s, s + size - 1))
        rules.append(f"start{s} ::= {mandatory} run{s + size - 1}".replace("::=  ", "::= "))
    for i in range(n):
        more = f" | run{i + 1}" if i + 1 < n else ""
        rules.append(f"run{i} ::= {literal(lines[i] + chr(10))} (end{i}{more})")
        nxt = first_from[i + 1] if i + 1 <= n else None
        then = f' ("\\n" {literal(SEARCH_MARK + chr(10))} from{nxt})?' if nxt is not None \
            else ""
        rules.append(f"end{i} ::= {literal(DIVIDER + chr(10))} replace "
                     f"{literal(REPLACE_MARK)}{then}")
    return "\n".join(rules) + "\n"


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def review_grammar(candidate: str) -> str:
    """The reviewer's reply grammar for the candidate under review."""
    lines = _lines(candidate)
    anchors: list[str] = []
    seen: set[tuple[str, int]] = set()
    for number, line in enumerate(lines[:MAX_LINES], 1):
        quote = line.strip()[:QUOTE_CHARS].rstrip()
        if quote and (quote, number) not in seen:
            seen.add((quote, number))
            anchors.append(f'{literal(_json_string(quote))} "," ws "\\"line\\":" ws "{number}"')
    if not anchors:  # nothing to quote: the empty quote, any line number
        anchors.append('"\\"\\"" "," ws "\\"line\\":" ws [1-9] [0-9]{0,4}')
    # F1, F2, ... in order: the ids the engine and the editor count on
    findings_1 = "finding1" + "".join(f' ("," ws finding{k}' for k in range(2, MAX_FINDINGS + 1)) \
        + ")?" * (MAX_FINDINGS - 1)
    return "\n".join([
        'root ::= "{" ws "\\"verdict\\":" ws verdict "," ws "\\"summary\\":" ws '
        f'str{SUMMARY_CHARS} ws "}}"',
        'verdict ::= "\\"approve\\"" "," ws "\\"findings\\":" ws "[" ws '
        f'({findings_1})? ws "]" | "\\"revise\\"" "," ws "\\"findings\\":" ws "[" ws '
        f'{findings_1} ws "]"',
        *(f'finding{k} ::= "{{" ws "\\"id\\":" ws "\\"F{k}\\"" "," ws finding'
          for k in range(1, MAX_FINDINGS + 1)),
        'finding ::= "\\"quote\\":" ws anchor "," ws "\\"severity\\":" ws severity "," ws '
        f'"\\"message\\":" ws str{MESSAGE_CHARS} "," ws "\\"suggestion\\":" ws '
        f'(str{SUGGESTION_CHARS} | "null") ws "}}"',
        "anchor ::= " + " | ".join(anchors),
        'severity ::= "\\"error\\"" | "\\"warning\\"" | "\\"info\\"" | "\\"hint\\""',
        *(f'str{n} ::= "\\"" first char{{0,{n - 1}}} "\\""'
          for n in sorted({SUMMARY_CHARS, MESSAGE_CHARS, SUGGESTION_CHARS})),
        'first ::= [^"\\\\\\x00-\\x20] | escape',
        'char ::= [^"\\\\\\x00-\\x1f] | escape',
        'escape ::= "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})',
        'ws ::= " "?',
    ]) + "\n"

#!/usr/bin/env python3
"""Record the Neovim inline diff as a user sees it: the real `nvim` (0.11) in tmux (90x24), the
real `pair-lsp serve`, the scripted fake model server at a realistic pace (0.6 s per request,
400 tokens/s). Writes docs/images/neovim-inline-diff.txt (the screen with the diff shown, ANSI
colours: `cat` it in a terminal) and docs/images/neovim-inline-diff.cast (the whole run,
asciinema v2: `asciinema play` it).

    PYTHONPATH=. .venv/bin/python scripts/neovim-inline-diff-capture.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pair_lsp.testing.fake_server import FakeModelServer
from tests.editors.scripts import SOURCE
from tests.scripts import block, review

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or "nvim"
WIDTH, HEIGHT = 90, 24
SOCKET = f"pair-capture-{os.getpid()}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], check=True, capture_output=True,
                          text=True).stdout


def screen(ansi: bool = True) -> str:
    return tmux("capture-pane", "-p", *(["-e"] if ansi else []), "-t", "demo")


def cursor() -> tuple[int, int]:
    x, y = tmux("display-message", "-p", "-t", "demo", "#{cursor_x} #{cursor_y}").split()
    return int(x), int(y)


class Recorder(threading.Thread):
    """Every 100 ms, the pane as a frame (when it changed) of an asciinema v2 recording."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.frames: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.start_time = time.monotonic()

    def run(self) -> None:
        last = None
        while not self.stop.is_set():
            text, (x, y) = screen(), cursor()
            frame = ("\x1b[H\x1b[2J" + text.rstrip("\n").replace("\n", "\r\n")
                     + f"\x1b[{y + 1};{x + 1}H")
            if frame != last:
                self.frames.append((time.monotonic() - self.start_time, frame))
                last = frame
            time.sleep(0.1)


def keys(*k: str, pause: float = 0.8) -> None:
    for key in k:
        tmux("send-keys", "-t", "demo", key)
        time.sleep(0.08)
    time.sleep(pause)


def typed(text: str, pause: float = 0.8) -> None:
    """Typed like a person: a key at a time."""
    for ch in text:
        tmux("send-keys", "-t", "demo", "-l", ch)
        time.sleep(0.04)
    time.sleep(0.3)
    keys("Enter", pause=pause)


def wait_for(text: str, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if text in screen(ansi=False):
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {text!r}:\n{screen(ansi=False)}")


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="pair-capture-"))
    work = tmp / "work"
    (work / ".git").mkdir(parents=True)
    (work / "example.py").write_text(SOURCE)
    fake = FakeModelServer(latency=0.6, token_rate=400).start()
    fake.script("nvim-worker", [
        "Types, an empty-list guard, a float result.\n"
        + block("def largest(values):", "def largest(values: list[float]) -> float:")
        + block("    best = 0", "    if not values:\n        raise ValueError(\"empty\")\n"
                "    best = 0")
        + block("    return best", "    return float(best)")])
    fake.script("nvim-reviewer", [review("approve")])
    settings = {
        "worker": {"provider": "openai", "model": "nvim-worker", "baseUrl": fake.openai_url},
        "reviewer": {"provider": "anthropic", "model": "nvim-reviewer",
                     "baseUrl": fake.anthropic_url},
        "cache": {"enabled": False}, "transcript": {"directory": str(tmp / "transcripts")}}
    init = tmp / "init.lua"
    init.write_text(f"""
vim.g.loaded_python3_provider = 0
vim.opt.rtp:prepend({json.dumps(str(ROOT / 'editors' / 'neovim'))})
vim.o.ruler = true
vim.o.showcmd = true
vim.g.pair_lsp = {{ cmd = {{ {json.dumps(sys.executable)}, '-m', 'pair_lsp', 'serve' }},
                   settings = vim.json.decode({json.dumps(json.dumps(settings))}) }}
vim.lsp.enable('pair_lsp')
""")
    env = " ".join(f"{k}={v}" for k, v in {
        "HOME": tmp / "home", "XDG_STATE_HOME": tmp / "state", "XDG_CONFIG_HOME": tmp / "config",
        "XDG_DATA_HOME": tmp / "data", "XDG_CACHE_HOME": tmp / "cache", "TERM": "xterm-256color",
        "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT))}.items())
    tmux("new-session", "-d", "-s", "demo", "-x", str(WIDTH), "-y", str(HEIGHT),
         f"cd {work} && env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY {env} {NVIM} -u {init} "
         "example.py")
    recorder = Recorder()
    try:
        wait_for("example.py")
        recorder.start()
        time.sleep(1.5)
        keys("4", "G", "V", "G", pause=0.6)
        keys(":", pause=0.3)
        typed("Pair add types, guard empty lists")
        wait_for("hunk 1/3")
        time.sleep(1.5)
        keys("]", "h", pause=1.2)  # to hunk 2
        still = screen()
        keys(":", pause=0.3)
        typed("Pair reject an empty list is fine: callers check first", pause=1.5)
        keys("]", "h", pause=0.8)  # to hunk 3
        keys(":", pause=0.3)
        typed("Pair accept", pause=1.5)
        keys("[", "h", pause=0.8)  # back to hunk 1
        keys(":", pause=0.3)
        typed("Pair accept", pause=2.0)
        wait_for("2 hunks accepted")
        keys("u", pause=1.5)  # hunk 1 taken back
        keys("C-r", pause=2.0)
    finally:
        recorder.stop.set()
        recorder.join()
        tmux("kill-server")
        fake.stop()
    IMAGES.mkdir(parents=True, exist_ok=True)
    (IMAGES / "neovim-inline-diff.txt").write_text(still)
    header = {"version": 2, "width": WIDTH, "height": HEIGHT,
              "title": "pair-lsp: the inline diff in Neovim 0.11",
              "env": {"TERM": "xterm-256color"}}
    with open(IMAGES / "neovim-inline-diff.cast", "w") as fh:
        fh.write(json.dumps(header) + "\n")
        for t, frame in recorder.frames:
            fh.write(json.dumps([round(t, 3), "o", frame]) + "\n")
    print(f"{len(recorder.frames)} frames; {IMAGES / 'neovim-inline-diff.txt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

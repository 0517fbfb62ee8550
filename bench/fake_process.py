"""The fake model server in its own process, as a hosted model is.

Run in the benchmark's own process, the fake server's threads would compete for one GIL with the
benchmark's LSP client, and the client's work (reading progress and diagnostics) would be billed
as model time or as pair-lsp overhead depending on when it ran. In its own process it is a
separate machine as far as Python is concerned. Control goes through its `/_fake/*` routes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from types import SimpleNamespace
from typing import Any

from pair_lsp.testing.fake_server import FakeUrls


class FakeProcess(FakeUrls):
    """`pair-lsp fake-server` in a child process, with FakeModelServer's control methods."""

    def __init__(self, latency: float = 0.0, token_rate: float | None = None):
        self.latency = latency
        self.token_rate = token_rate
        self._proc: subprocess.Popen[str] | None = None
        self._url = ""

    def __enter__(self) -> FakeProcess:
        cmd = [sys.executable, "-m", "pair_lsp", "fake-server", "--latency", str(self.latency)]
        if self.token_rate:
            cmd += ["--token-rate", str(self.token_rate)]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()  # "fake model server listening on http://..."
        if "http://" not in line:
            self.__exit__()
            raise RuntimeError(f"the fake model server did not start: {line!r}")
        self._url = line.strip().rsplit(" ", 1)[-1]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None

    @property
    def url(self) -> str:
        return self._url

    def _call(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def script(self, model: str, replies: list[Any]) -> None:
        self._call("/_fake/scripts", {model: replies})

    def reset(self) -> None:
        self._call("/_fake/reset", {})

    def model_time(self) -> float:
        return float(self._call("/_fake/stats")["model_time"])

    @property
    def open_requests(self) -> int:
        return int(self._call("/_fake/stats")["open_requests"])

    @property
    def requests(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(**r) for r in self._call("/_fake/requests?bodies=1")]

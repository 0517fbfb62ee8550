"""Transcripts are private (files 0600, directories 0700) and never fail a session."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from pair_lsp.config import TranscriptConfig
from pair_lsp.loop.events import Finished, ModelReply, Notice
from pair_lsp.transcript import Transcript, transcript_dir


def finished() -> Finished:
    return Finished(status="approved", reason="approved", rounds=1, summary="", findings=(),
                    edits=(), new_document=None, diff="")


def test_files_and_directory_are_private(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "transcripts"
    t = Transcript(directory, "s1")
    t(Notice("hello"))
    t(finished())
    assert t.wait_written()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in (t.jsonl_path, t.markdown_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_existing_transcripts_folder_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "transcripts"
    directory.mkdir(mode=0o755)
    Transcript(directory, "s1")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_lone_surrogates_are_replaced_not_raised(tmp_path: Path) -> None:
    t = Transcript(tmp_path / "transcripts", "s1")
    t(ModelReply(round=1, role="reviewer", model="r", text='{"summary": "ok \ud83d"}'))
    t(Notice("bad \udc00 text"))
    t(finished())
    assert t.wait_written()
    lines = t.jsonl_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["type"] == "model_reply"
    assert "\ud83d" not in t.markdown_path.read_text(encoding="utf-8")
    assert "bad ? text" in t.markdown_path.read_text(encoding="utf-8")


class _Broken(Notice):
    def to_json(self) -> dict[str, object]:
        raise RuntimeError("boom")


def test_any_failure_is_logged_once_and_never_raised(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    t = Transcript(tmp_path / "transcripts", "s1")
    with caplog.at_level(logging.WARNING, logger="pair_lsp.transcript"):
        t(_Broken("x"))
        t(_Broken("y"))
        t(finished())
    assert t.wait_written(timeout=1)
    assert len([r for r in caplog.records if "cannot write the transcript" in r.message]) == 1


def test_workspace_transcripts_stay_in_the_workspace(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    workspace = tmp_path / "repo"
    workspace.mkdir()
    config = TranscriptConfig(location="workspace")
    assert transcript_dir(config, workspace) == workspace / ".pair" / "transcripts"
    (tmp_path / "elsewhere").mkdir()
    (workspace / ".pair").symlink_to(tmp_path / "elsewhere")  # shipped by the repository
    assert transcript_dir(config, workspace) == tmp_path / "state" / "pair-lsp" / "transcripts"

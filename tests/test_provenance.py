"""git_state: what counts as uncommitted code."""
import subprocess

import pytest

from imbench import provenance


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def tiny_repo(tmp_path, monkeypatch):
    (tmp_path / "results").mkdir()
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "table.md").write_text("| a |\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(provenance, "REPO", tmp_path)
    monkeypatch.delenv("IMBENCH_GIT_COMMIT", raising=False)
    provenance.git_state.cache_clear()
    yield tmp_path
    provenance.git_state.cache_clear()


def test_a_changed_result_file_is_not_dirty_code(tiny_repo):
    (tiny_repo / "results" / "table.md").write_text("| b |\n")
    state = provenance.git_state()
    assert state["dirty"] is False and len(state["commit"]) == 40


def test_a_changed_code_file_is_dirty(tiny_repo):
    (tiny_repo / "code.py").write_text("x = 2\n")
    assert provenance.git_state()["dirty"] is True

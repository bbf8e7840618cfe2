"""The GitHub Actions workflows lint clean with actionlint and zizmor (offline), and the lint
would catch what it is there for."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
UNPINNED = """\
name: bad
on: push
jobs:
  x:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.head_commit.message }}"
"""


def lint(*paths: Path) -> list[subprocess.CompletedProcess]:
    return [
        subprocess.run([BIN / "actionlint", *map(str, paths)], capture_output=True, text=True),
        subprocess.run([BIN / "zizmor", "--offline", *map(str, paths)], capture_output=True, text=True),
    ]


def test_the_workflows_lint_clean():
    assert WORKFLOWS
    for result in lint(*WORKFLOWS):
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_lint_catches_an_unpinned_action_and_an_injection(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(UNPINNED)
    actionlint, zizmor = lint(bad)
    assert zizmor.returncode != 0 and "unpinned" in zizmor.stdout + zizmor.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_and_permissions_are_explicit(workflow):
    text = workflow.read_text()
    for uses in re.findall(r"uses:\s*(\S+)", text):
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{workflow.name}: {uses} is not pinned by SHA"
    assert re.search(r"^permissions:", text, re.M), f"{workflow.name}: no top-level permissions"

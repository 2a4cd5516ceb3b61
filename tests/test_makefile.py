"""The Makefile's run lines are valid Hydra multirun command lines (parsed, not run)."""
import re
import shlex
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

REPO = Path(__file__).resolve().parents[1]


def run_lines() -> list[tuple[int, list[str]]]:
    """(line number, overrides) of every recipe line that calls ``$(RUN)``; make's ``$$`` and the shell
    loop around a run are cut off."""
    lines = []
    for number, line in enumerate((REPO / "Makefile").read_text().splitlines(), 1):
        if "$(RUN)" in line and line.startswith("\t"):
            args = line.split("$(RUN)", 1)[1].split("||")[0].split(";")[0]
            lines.append((number, [a for a in shlex.split(args) if "$" not in a]))
    return lines


def test_the_makefile_has_run_lines():
    assert len(run_lines()) > 20


@pytest.mark.parametrize("number, overrides", run_lines(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_a_run_line_parses_and_sweeps_only_the_jobs_config(number, overrides):
    parsed = OverridesParser.create().parse_overrides(overrides)
    hydra_sweeps = [o.input_line for o in parsed if o.is_hydra_override() and o.is_sweep_override()]
    assert not hydra_sweeps, (f"Makefile line {number}: Hydra refuses to sweep its own config ({hydra_sweeps}); "
                              "sweep the job's key instead (method=a,b)")

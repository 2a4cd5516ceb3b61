"""Cells that average runs which should not be averaged silently.

Every table cell averages the runs a layout selects for it. Two kinds of difference among those runs
matter and are said in the table's header:

* **settings**: runs of different run identities (without seed, fold and repeat; see
  :mod:`imbench.report.settings`), e.g. one out_dir holding runs with ``ir=10`` beside a table's
  ``ir=320`` runs, or a schedule changed on the command line;
* **execution**: the settings that change numbers without changing what a run is: the device (and a
  CPU's kernel level, AVX2 or AVX512), torch's thread count (a thread count changes the order of floating-point sums), the precision and whether the
  run trained in a batched (vmap) group.

:func:`record_columns` gives a record's ``setting`` and ``execution`` columns; :func:`stats.cell
<imbench.tables.stats.cell>` reports every cell whose runs differ to the :func:`watching` block that is
open (the table builder's), which turns them into header notes.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import pandas as pd


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: obj if not isinstance(obj, list) else tuple(map(str, obj))}


def execution_of(record: dict) -> str:
    """'cpu, 2 torch threads, float32' (+ ', batched') from a record; a CPU's kernel level where the
    record has it ('cpu AVX512, ...': CPUs of another level round differently)."""
    hw = record.get("hardware") or {}
    training = record.get("training") or {}
    device = hw.get("device") or "?"
    level = (hw.get("cpu_bf16") or {}).get("capability")
    if str(device).startswith("cpu") and level:
        device = f"{device} {level}"
    text = f"{device}, {hw.get('torch_threads') or '?'} torch threads, " \
           f"{training.get('precision') or 'float32'}"
    generator = (record.get("oversampler") or {}).get("precision")
    if generator and generator != "float32":
        text += f", generator {generator}"
    return text + (", batched" if record.get("batched") else "")


def record_columns(record: dict) -> dict:
    """The ``setting`` id, its flattened identity (``setting_keys``) and the ``execution`` of a record."""
    from imbench.report.settings import setting_id, setting_identity

    ident = setting_identity(record).identity
    return {"setting": setting_id(ident), "setting_keys": _flatten(ident), "execution": execution_of(record)}


@dataclass
class MixedCells:
    """What :func:`watching` collected: per kind, how many cells mix, and which keys or values differ."""

    settings: int = 0
    setting_keys: set[str] = field(default_factory=set)
    executions: int = 0
    execution_values: set[str] = field(default_factory=set)

    def notes(self) -> list[str]:
        out = []
        if self.settings:
            keys = ", ".join(sorted(self.setting_keys)) or "the record's config"
            out.append(f"Warning: {self.settings} cell(s) average runs of different settings (they differ in: {keys}); "
                       "put each setting's runs in an out_dir of their own, or remove the others, to get one setting "
                       "per cell")
        if self.executions:
            out.append(f"Warning: {self.executions} cell(s) mix runs made under different execution settings, which "
                       f"change numbers by rounding: {'; '.join(sorted(self.execution_values))}")
        return out


_CURRENT: contextvars.ContextVar[MixedCells | None] = contextvars.ContextVar("mixed_cells", default=None)


@contextmanager
def watching() -> Iterator[MixedCells]:
    """Collect the mixed cells of the tables built inside the block."""
    found = MixedCells()
    token = _CURRENT.set(found)
    try:
        yield found
    finally:
        _CURRENT.reset(token)


def check_cell(frame: pd.DataFrame, column: str) -> None:
    """Report the runs of one cell (those with a value in ``column``) when they mix settings or execution."""
    found = _CURRENT.get()
    if found is None or "setting" not in frame.columns or column not in frame.columns:
        return
    runs = frame[pd.to_numeric(frame[column], errors="coerce").notna()]
    if runs["setting"].nunique() > 1:
        found.settings += 1
        flats = list(runs["setting_keys"])
        keys = set().union(*(f.keys() for f in flats))
        found.setting_keys.update(k for k in keys if len({repr(f.get(k)) for f in flats}) > 1)
    if "execution" in runs.columns and runs["execution"].nunique() > 1:
        found.executions += 1
        found.execution_values.update(runs["execution"].unique())

"""The laid-out table every layout returns, and how rows are named and why they are empty."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

from imbench.methods.registry import METHODS, NOT_RUNNABLE, PLANNED, method_label

DATA_LABELS = {"mnist": "MNIST", "fmnist": "Fashion-MNIST", "cifar10": "CIFAR10", "svhn": "SVHN", "adult": "Adult"}
FMNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                  "Ankle boot"]


@dataclass
class Best:
    """Which displayed cells are the best ones (bold in LaTeX) and what "best" means.

    Attributes
    ----------
    values : pandas.DataFrame
        Numbers behind the cells (same index and columns as the block's frame); NaN = not compared.
    meaning : str
        What bold means, for the caption, e.g. "lowest FID per class (lower is better)".
    lower : list
        Labels (columns, or rows when ``methods_in_columns``) where the lowest value wins; the highest
        wins everywhere else.
    methods_in_columns : bool
        The methods are the columns, so cells are compared along each row instead of down each column.
    within : str, list of str, or None
        Name(s) of index levels: compare only rows that share their values (EGL Table 1 compares per IR;
        the sweep report per block).
    """

    values: pd.DataFrame
    meaning: str
    lower: list = field(default_factory=list)
    methods_in_columns: bool = False
    within: str | list[str] | None = None


@dataclass
class Block:
    """One displayed table: string cells, index = row labels, columns flat or a MultiIndex of header levels.

    ``key`` names the block in LaTeX labels (e.g. the skew of a Fajardo block); ``best`` marks its best
    cells (None: nothing is bold).
    """
    heading: str
    frame: pd.DataFrame
    key: str = ""
    best: Best | None = None


@dataclass
class Table:
    """A paper table: displayed blocks, the numbers behind them (CSV), and what the header must say."""
    title: str
    blocks: list[Block]
    data: pd.DataFrame
    empty: dict[str, str]  # row label -> why the row has no numbers
    cell_counts: list[int] = field(default_factory=list)  # runs behind each non-empty cell
    notes: list[str] = field(default_factory=list)  # header lines specific to the layout
    footer: list[str] = field(default_factory=list)  # lines printed below the table


def row_label(method: str, spec: dict) -> str:
    """The row's name in the table: ``table.row_labels`` first, then the registry's label."""
    return (spec.get("row_labels") or {}).get(method) or method_label(method)


def data_label(name: str) -> str:
    return DATA_LABELS.get(str(name), str(name))


def empty_reason(method: str) -> str:
    """Why a row of ``method`` has no numbers."""
    if method in NOT_RUNNABLE:
        return NOT_RUNNABLE[method]
    if method in PLANNED:
        return f"method not implemented yet (planned: {PLANNED[method]})"
    if method in METHODS:
        return "no finished runs"
    return "unknown method (in neither METHODS nor PLANNED of imbench.methods.registry)"


def empty_rows(rows: Iterable[str], present: Iterable[str], spec: dict) -> dict[str, str]:
    """``{label (name): reason}`` for the methods in ``rows`` that have no runs in the table."""
    have = set(present)
    return {f"{row_label(m, spec)} ({m})": empty_reason(m) for m in rows if m not in have}


def braces(values: Iterable[int]) -> str:
    return "{" + ",".join(str(v) for v in values) + "}"

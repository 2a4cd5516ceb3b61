"""What the Markdown and LaTeX writers share: row labels as leading columns, and which cells are best."""
from __future__ import annotations

import pandas as pd

from imbench.tables.model import Block


def _label_key(name: object, nlevels: int) -> object:
    """Column key of a row-label column: the label's name on the last header level, blank above it."""
    text = "" if name is None else str(name)
    return tuple([""] * (nlevels - 1) + [text]) if nlevels > 1 else text


def with_label_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its index levels turned into leading string columns and a default index.

    A leading label repeated on consecutive rows is blanked after its first row, as the papers print
    it (EGL Table 1: the method once, then its IRs). The labels' names head their columns on the last
    header level.

    Parameters
    ----------
    frame : pandas.DataFrame
        A block's displayed cells.

    Returns
    -------
    pandas.DataFrame
        Same rows; ``frame.index.nlevels`` more columns in front.
    """
    nlevels = frame.columns.nlevels
    keys = [_label_key(n, nlevels) for n in frame.index.names]
    labels = [[str(x) for x in (key if isinstance(key, tuple) else (key,))] for key in frame.index]
    previous = None
    for row in labels:
        if len(row) > 1 and row[0] == previous:
            row[0] = ""
        else:
            previous = row[0]
    lead = pd.DataFrame(labels, columns=pd.MultiIndex.from_tuples(keys) if nlevels > 1 else keys)
    body = frame.reset_index(drop=True)
    if len(frame.columns) == 0:
        return lead
    return pd.concat([lead, body], axis=1)


def _best_in(values: pd.DataFrame, lower: set) -> pd.DataFrame:
    """True where a cell holds its column's best value; a column of fewer than two distinct numbers has none."""
    mask = pd.DataFrame(False, index=values.index, columns=values.columns)
    for j, col in enumerate(values.columns):
        numbers = values.iloc[:, j].astype(float)
        compared = numbers.dropna()
        if compared.nunique() < 2:  # one number, or all tie: nothing stands out
            continue
        target = compared.min() if col in lower else compared.max()
        mask.iloc[:, j] = (numbers == target).to_numpy()
    return mask


def best_mask(block: Block) -> pd.DataFrame:
    """Boolean frame, shaped like ``block.frame``: True on the cells :class:`~imbench.tables.model.Best` picks.

    Each column (or row, when the methods are the columns) is compared on its own, within groups of
    ``Best.within``; cells tied for best are all best; a column whose numbers are fewer than two or all
    equal has no best cell.

    Parameters
    ----------
    block : Block
        The block; without ``block.best`` nothing is best.

    Returns
    -------
    pandas.DataFrame
        Positionally aligned with ``block.frame``.
    """
    frame, best = block.frame, block.best
    mask = pd.DataFrame(False, index=range(len(frame)), columns=range(len(frame.columns)))
    if best is None or frame.empty:
        return mask
    values = best.values.reset_index(drop=True).set_axis(range(len(frame.columns)), axis=1)
    lower_rows = {i for i, label in enumerate(frame.index) if label in set(best.lower)}
    lower_cols = {j for j, label in enumerate(frame.columns) if label in set(best.lower)}
    if best.methods_in_columns:
        return _best_in(values.T, lower_rows).T
    if best.within is None:
        return _best_in(values, lower_cols)
    levels = [best.within] if isinstance(best.within, str) else list(best.within)
    groups = pd.Series(list(zip(*(frame.index.get_level_values(level) for level in levels))))
    for _, rows in groups.groupby(groups, sort=False).groups.items():
        mask.loc[rows] = _best_in(values.loc[rows], lower_cols)
    return mask


"""LaTeX text of a Table through ``pandas.io.formats.style.Styler.to_latex`` (needs jinja2).

Each block becomes one ``table`` float: booktabs rules (``\\usepackage{booktabs}``), a caption (title,
block heading, what bold means), a label ``tab:<experiment>_<profile>`` (``-<block key>`` appended when
the table has several blocks), text escaped by pandas, and the best cells in bold.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from imbench.tables.display import best_mask, with_label_columns
from imbench.tables.model import Block, Table

# Characters pandas' escaping leaves alone that plain LaTeX cannot typeset in text mode.
SYMBOLS = {"±": r"$\pm$", "•": r"$\bullet$", "ρ": r"$\rho$", "Δ": r"$\Delta$", "χ": r"$\chi$", "×": r"$\times$",
           "–": "--", "|": r"\textbar{}", "†": r"$\dagger$"}
BOLD = "textbf:--rwrap;"


def _symbols(text: object) -> str:
    return "".join(SYMBOLS.get(ch, ch) for ch in str(text))


def escape_latex(text: str) -> str:
    """``text`` escaped as the table cells are: pandas' LaTeX escaping, then :data:`SYMBOLS`."""
    one_cell = pd.DataFrame([[text]]).style.format(escape="latex", formatter=_symbols)
    return one_cell.hide(axis="index").hide(axis="columns").to_string(delimiter="").rstrip("\n")


def caption_text(title: str, block: Block) -> str:
    """Unescaped caption: the title, the block's heading, and what bold means."""
    parts = [title.rstrip(". "), block.heading]
    if block.best is not None:
        parts.append(f"Bold: {block.best.meaning}")
    return ". ".join(p for p in parts if p) + "."


def latex_block(block: Block, caption: str, label: str) -> str:
    """One ``table`` float of ``block``.

    Parameters
    ----------
    block : Block
        The block; row labels become left-aligned columns, cells are right-aligned.
    caption : str
        Unescaped caption text.
    label : str
        The ``\\label`` key.

    Returns
    -------
    str
        LaTeX text.
    """
    shown = with_label_columns(block.frame)
    nlabels = block.frame.index.nlevels
    bold = np.hstack([np.zeros((len(shown), nlabels), dtype=bool), best_mask(block).to_numpy(dtype=bool)])
    styles = np.where(bold, BOLD, "")
    styler = (shown.style.hide(axis="index")
              .format(escape="latex", formatter=_symbols)
              .format_index(escape="latex", formatter=_symbols, axis="columns")
              .apply(lambda _: styles, axis=None))
    return styler.to_latex(
        column_format="l" * nlabels + "r" * (shown.shape[1] - nlabels), position="htbp", position_float="centering",
        hrules=True, label=label, caption=escape_latex(caption), multicol_align="c", environment="table",
    ).rstrip("\n")


def to_latex(table: Table, header: list[str], label: str) -> str:
    """``%`` header lines, one ``table`` float per block, the footer as ``%`` lines.

    Parameters
    ----------
    table : Table
        The laid-out table.
    header : list of str
        Provenance lines (:meth:`imbench.tables.header.Provenance.lines`).
    label : str
        Label of the table, e.g. ``tab:fajardo_5_quick``; blocks of a multi-block table get ``-<key>``.

    Returns
    -------
    str
        The ``.tex`` file's text (floats to ``\\input``; needs ``\\usepackage{booktabs}``).
    """
    out = [f"% {line}" for line in header]
    several = len(table.blocks) > 1
    for i, block in enumerate(table.blocks):
        block_label = f"{label}-{block.key or i + 1}" if several else label
        out += ["", latex_block(block, caption_text(table.title, block), block_label)]
    out += [""] + [f"% {line}" for line in table.footer]
    return "\n".join(out).rstrip() + "\n"

"""Markdown (``DataFrame.to_markdown``) and CSV text of a Table; LaTeX is in :mod:`imbench.tables.latex`.

The CSV is the numbers behind the table at full precision and nothing else: ``pandas.read_csv(path)``
loads it. Its provenance is the Markdown/LaTeX header and the sidecar ``<name>.provenance.json``
(:class:`imbench.tables.header.Provenance`).
"""
from __future__ import annotations

import pandas as pd

from imbench.tables.display import with_label_columns
from imbench.tables.model import Block, Table


def _pipe_safe(text: object) -> str:
    return str(text).replace("|", r"\|")


def markdown_block(block: Block) -> str:
    """A pipe table (labels left-aligned, cells right-aligned); header levels are joined with spaces.

    Parameters
    ----------
    block : Block
        The block to write; its heading, if any, goes above the table in bold.

    Returns
    -------
    str
        Markdown text without a trailing newline.
    """
    shown = with_label_columns(block.frame)
    if isinstance(shown.columns, pd.MultiIndex):
        heads = [" ".join(str(x) for x in col if x) for col in shown.columns]
    else:
        heads = [str(col) for col in shown.columns]
    shown = shown.apply(lambda col: col.map(_pipe_safe)).set_axis([_pipe_safe(h) for h in heads], axis=1)
    nlabels = block.frame.index.nlevels
    align = ["left"] * nlabels + ["right"] * (len(heads) - nlabels)
    # disable_numparse keeps each cell's text (tabulate would rewrite '0.900' as '0.9').
    text = shown.to_markdown(index=False, tablefmt="pipe", colalign=align, disable_numparse=True)
    return f"**{block.heading}**\n\n{text}" if block.heading else text


def to_markdown(table: Table, header: list[str]) -> str:
    """Header (title as a heading, then one line each), the blocks, then the footer.

    Parameters
    ----------
    table : Table
        The laid-out table.
    header : list of str
        Provenance lines, the title first (:meth:`imbench.tables.header.Provenance.lines`).

    Returns
    -------
    str
        The Markdown file's text.
    """
    out = [f"# {header[0]}", ""] + [f"{line}  " for line in header[1:]] + [""]
    for block in table.blocks:
        out += [markdown_block(block), ""]
    out += [f"{line}  " for line in table.footer]
    return "\n".join(out).rstrip() + "\n"


def to_csv(table: Table) -> str:
    """The numbers behind the table (``table.data``) at full precision, one header row, no index.

    Parameters
    ----------
    table : Table
        The laid-out table.

    Returns
    -------
    str
        CSV text that ``pandas.read_csv`` reads back into ``table.data``.
    """
    return table.data.to_csv(index=False)

"""Markdown, CSV and LaTeX text of a Table (LaTeX written by hand: no jinja2 needed)."""
from __future__ import annotations

import io

import pandas as pd

from imbench.tables.model import Block, Table

LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
    "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "•": r"$\bullet$", "ρ": r"$\rho$", "Δ": r"$\Delta$", "–": "--", "χ": r"$\chi$",
}


def _header_levels(frame: pd.DataFrame) -> list[list[str]]:
    cols = frame.columns
    if isinstance(cols, pd.MultiIndex):
        return [[str(x) for x in cols.get_level_values(i)] for i in range(cols.nlevels)]
    return [[str(c) for c in cols]]


def _index_rows(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Index level names and per-row index cells; a repeated leading label is blanked, as the papers print it."""
    names = [str(n) if n is not None else "" for n in frame.index.names]
    rows, prev = [], None
    for key in frame.index:
        key = list(key) if isinstance(key, tuple) else [key]
        cells = [str(k) for k in key]
        if len(cells) > 1 and cells[0] == prev:
            cells[0] = ""
        else:
            prev = cells[0]
        rows.append(cells)
    return names, rows


def markdown_block(block: Block) -> str:
    """A pipe table; multi-level column names are joined with spaces."""
    levels = _header_levels(block.frame)
    names, index = _index_rows(block.frame)
    heads = [" ".join(x for x in col if x) for col in zip(*levels)] if levels[0] else []
    esc = lambda s: str(s).replace("|", r"\|")
    lines = ["| " + " | ".join(esc(x) for x in names + heads) + " |",
             "|" + "|".join([":---"] * len(names) + ["---:"] * len(heads)) + "|"]
    for idx, values in zip(index, block.frame.itertuples(index=False)):
        lines.append("| " + " | ".join(esc(x) for x in idx + list(values)) + " |")
    text = "\n".join(lines)
    return f"**{block.heading}**\n\n{text}" if block.heading else text


def to_markdown(table: Table, header: list[str]) -> str:
    """Header (title as a heading, then one line each), the blocks, then the footer."""
    out = [f"# {header[0]}", ""] + [f"{line}  " for line in header[1:]] + [""]
    for block in table.blocks:
        out += [markdown_block(block), ""]
    out += [f"{line}  " for line in table.footer]
    return "\n".join(out).rstrip() + "\n"


def to_csv(table: Table, header: list[str]) -> str:
    """``#`` header lines, then the numbers behind the table at full precision (read with comment='#')."""
    buf = io.StringIO()
    buf.write("".join(f"# {line}\n" for line in header + table.footer))
    table.data.to_csv(buf, index=False)
    return buf.getvalue()


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _spans(levels: list[list[str]], depth: int) -> list[tuple[str, int]]:
    """Merged cells of header level ``depth``: runs of columns equal on levels 0..depth, e.g. ('m', 3)."""
    keys = list(zip(*levels[: depth + 1]))
    spans: list[tuple[tuple, int]] = []
    for key in keys:
        if spans and spans[-1][0] == key:
            spans[-1] = (key, spans[-1][1] + 1)
        else:
            spans.append((key, 1))
    return [(key[-1], n) for key, n in spans]


def latex_block(block: Block) -> str:
    """One tabular: optional heading row, one header row per column level (merged cells), the body."""
    levels = _header_levels(block.frame)
    names, index = _index_rows(block.frame)
    ncols = len(names) + len(block.frame.columns)
    lines = [r"\begin{tabular}{" + "l" * len(names) + "r" * len(block.frame.columns) + "}", r"\hline"]
    if block.heading:
        lines.append(rf"\multicolumn{{{ncols}}}{{l}}{{{latex_escape(block.heading)}}} \\")
    for i in range(len(levels)):
        lead = [latex_escape(n) if i == len(levels) - 1 else "" for n in names]
        cells = [latex_escape(lab) if n == 1 else rf"\multicolumn{{{n}}}{{c}}{{{latex_escape(lab)}}}"
                 for lab, n in _spans(levels, i)]
        lines.append(" & ".join(lead + cells) + r" \\")
    lines.append(r"\hline")
    for idx, values in zip(index, block.frame.itertuples(index=False)):
        lines.append(" & ".join(latex_escape(x) for x in idx + list(values)) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)


def to_latex(table: Table, header: list[str]) -> str:
    """``%`` header lines, one tabular per block, the footer as ``%`` lines."""
    out = [f"% {line}" for line in header]
    for block in table.blocks:
        out += ["", latex_block(block)]
    out += [""] + [f"% {line}" for line in table.footer]
    return "\n".join(out).rstrip() + "\n"

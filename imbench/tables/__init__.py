"""Paper tables from finished run records: ``python -m imbench.tables EXPERIMENT``.

Core (no files): ``records_frame`` (records -> DataFrame), ``LAYOUTS[name](frame, spec) -> Table``,
``build_table(spec, records)`` and ``render(...)``: Markdown (``DataFrame.to_markdown``) and LaTeX
(``Styler.to_latex``: booktabs, caption, label, best cells in bold), both headed by the provenance, and a
plain CSV (``pandas.read_csv(path)`` reads it) whose provenance goes to ``<name>.provenance.json``.
"""
from imbench.tables.cli import Outputs, build_table, main, render, write_outputs
from imbench.tables.collect import collect_records, load_table_spec, record_row, records_frame
from imbench.tables.header import Provenance, provenance
from imbench.tables.layouts import LAYOUTS
from imbench.tables.model import Best, Block, Table, empty_reason
from imbench.tables.stats import Cell, Friedman, cell, friedman_iman_davenport, mean_ranks, paired_ttest

__all__ = [
    "LAYOUTS", "Best", "Block", "Cell", "Friedman", "Outputs", "Provenance", "Table", "build_table", "cell",
    "collect_records", "empty_reason", "friedman_iman_davenport", "load_table_spec", "main", "mean_ranks",
    "paired_ttest", "provenance", "record_row", "records_frame", "render", "write_outputs",
]

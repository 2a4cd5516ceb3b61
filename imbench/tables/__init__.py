"""Paper tables from finished run records: ``python -m imbench.tables EXPERIMENT``.

Core (no files): ``records_frame`` (records -> DataFrame), ``LAYOUTS[name](frame, spec) -> Table``,
``build_table(spec, records)`` and ``render(...)`` (Markdown, CSV and LaTeX text with the provenance header).
"""
from imbench.tables.cli import Outputs, build_table, main, render, write_outputs
from imbench.tables.collect import collect_records, load_table_spec, record_row, records_frame
from imbench.tables.layouts import LAYOUTS
from imbench.tables.model import Block, Table, empty_reason
from imbench.tables.stats import Cell, cell, friedman_iman_davenport, mean_ranks, paired_ttest

__all__ = [
    "LAYOUTS", "Block", "Cell", "Outputs", "Table", "build_table", "cell", "collect_records", "empty_reason",
    "friedman_iman_davenport", "load_table_spec", "main", "mean_ranks", "paired_ttest", "record_row",
    "records_frame", "render", "write_outputs",
]

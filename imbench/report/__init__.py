"""A report of any sweep: the runs as one tidy table, summary tables, significance tests, plots and one
self-contained HTML page (``python -m imbench.report OUT_DIR``; see :mod:`imbench.report.cli`).

Modules, one job each: :mod:`~imbench.report.reading` (find and read run records),
:mod:`~imbench.report.settings` (what a setting is), :mod:`~imbench.report.frame` (the tidy frame),
:mod:`~imbench.report.completeness` (missing runs), :mod:`~imbench.report.summary` (mean ± std table),
:mod:`~imbench.report.significance` (paired tests, Friedman / Nemenyi), :mod:`~imbench.report.plots`,
:mod:`~imbench.report.cd_diagram` and :mod:`~imbench.report.samples` (figures),
:mod:`~imbench.report.texts` and :mod:`~imbench.report.html` (rendering), :mod:`~imbench.report.provenance`,
:mod:`~imbench.report.make` (putting it together).
"""
__all__ = ["Report", "ReportOptions", "make_report"]


def __getattr__(name: str):
    # lazily, so that ``python -m imbench.report --help`` does not load matplotlib and torch first
    if name in __all__:
        from imbench.report import make

        return getattr(make, name)
    raise AttributeError(f"module 'imbench.report' has no attribute {name!r}")

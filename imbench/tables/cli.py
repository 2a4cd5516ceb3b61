"""``python -m imbench.tables EXPERIMENT``: collect finished runs into the paper's table.

Writes ``<results_dir>/<experiment>_<profile>`` ``.md`` (``DataFrame.to_markdown``), ``.tex``
(``Styler.to_latex``), ``.csv`` (plain: ``pandas.read_csv(path)`` loads it) and ``.provenance.json``
(the CSV's provenance: commands, commits, hardware, empty rows and why; the ``.md`` and ``.tex``
carry the same as header lines).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from imbench.methods.registry import NOT_RUNNABLE, PLANNED, config_dir
from imbench.tables.collect import (
    UnknownExperiment, available_experiments, collect_failures, collect_records, count_other_profiles,
    failure_lines, keep_experiment_irs, load_table_spec, records_frame, unresolved_failures,
)
from imbench.tables.header import Provenance, provenance
from imbench.tables.latex import to_latex
from imbench.tables.layouts import LAYOUTS
from imbench.tables.mixing import watching
from imbench.tables.model import Table, row_label
from imbench.tables.render import to_csv, to_markdown

PROVENANCE_SUFFIX = ".provenance.json"


@dataclass
class Outputs:
    """A rendered table: the layout, its provenance and the text of each file."""
    table: Table
    provenance: Provenance
    markdown: str
    csv: str
    latex: str

    @property
    def provenance_json(self) -> str:
        return self.provenance.to_json()


def source_experiments(experiment: str, spec: dict) -> list[str]:
    """The experiments whose records feed the table: ``table.sources`` when given, else the experiment."""
    return list(spec.get("sources") or [experiment])


def build_table(spec: dict, records: list[dict]) -> Table:
    """Lay out already-filtered records with the spec's layout (pure: no files)."""
    layout = spec.get("layout")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown table layout {layout!r}; known: {', '.join(LAYOUTS)}")
    with watching() as mixed:
        table = LAYOUTS[layout](records_frame(records), spec)
    table.notes.extend(mixed.notes())
    return table


def generated_by(experiment: str, profile: str, out_dir: str = "outputs") -> str:
    cmd = f"python -m imbench.tables {experiment} --profile {profile}"
    return cmd if out_dir == "outputs" else f"{cmd} --out-dir {out_dir}"


def render(experiment: str, spec: dict, records: list[dict], profile: str, out_dir: str = "outputs",
           notes: list[str] | None = None, failures: list[dict] | None = None) -> Outputs:
    """Lay out the table and write its files' text (pure: no files).

    Parameters
    ----------
    experiment : str
        The experiment whose table it is.
    spec : dict
        Its ``table`` section (:func:`imbench.tables.collect.load_table_spec`).
    records : list of dict
        Finished run records, already filtered to the experiment's sources and ``profile``.
    profile : str
        The profile of the runs.
    out_dir : str
        Where the runs are, for the "Made by" command.
    notes : list of str, optional
        More header notes (e.g. which runs the collection left out).
    failures : list of dict, optional
        Failure markers of the same experiments and profile (:func:`imbench.tables.collect.collect_failures`).

    Returns
    -------
    Outputs
        Markdown and LaTeX start with the provenance header; the CSV is the bare numbers.
    """
    table = build_table(spec, records)
    table.notes.extend(notes or [])
    prov = provenance(table, experiment, profile, records, generated_by(experiment, profile, out_dir),
                      failed_runs=failure_lines(failures or [], lambda m: row_label(m, spec)))
    header = prov.lines()
    return Outputs(table=table, provenance=prov, markdown=to_markdown(table, header), csv=to_csv(table),
                   latex=to_latex(table, header, label=f"tab:{experiment}_{profile}"))


def write_outputs(out: Outputs, results_dir: str | Path, experiment: str, profile: str) -> list[Path]:
    """Write ``<results_dir>/<experiment>_<profile>`` ``.md``, ``.csv``, ``.tex`` and ``.provenance.json``.

    Returns
    -------
    list of pathlib.Path
        The files written, in that order.
    """
    base = Path(results_dir)
    base.mkdir(parents=True, exist_ok=True)
    stem = f"{experiment}_{profile}"
    texts = {".md": out.markdown, ".csv": out.csv, ".tex": out.latex, PROVENANCE_SUFFIX: out.provenance_json}
    paths = []
    for suffix, text in texts.items():
        path = base / f"{stem}{suffix}"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def run_hint(experiment: str, spec: dict, profile: str, out_dir: str) -> str:
    """The command(s) that make the missing runs."""
    extra = "" if out_dir == "outputs" else f" out_dir={out_dir}"
    if spec.get("layout") == "fajardo_timing":
        return "; ".join(f"python -m imbench -m experiment={e} profile={profile}{extra}"
                         + ("" if e == experiment else " hydra.sweeper.params.method=smote")
                         for e in source_experiments(experiment, spec))
    if spec.get("sources"):
        return "; ".join(f"python -m imbench -m experiment={e} profile={profile}{extra}" for e in spec["sources"])
    return f"python -m imbench -m experiment={experiment} profile={profile}{extra}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m imbench.tables", description=__doc__)
    p.add_argument("experiment", help="name of conf/experiment/<EXPERIMENT>.yaml")
    p.add_argument("--out-dir", default="outputs", help="where the runs' records are (default: outputs)")
    p.add_argument("--results-dir", default="results", help="where the tables are written (default: results)")
    p.add_argument("--profile", default="quick", help="which runs to collect: a name in conf/profile (quick, reduced, paper)")
    p.add_argument("--conf-dir", default=str(config_dir()), help="the config folder (default: the packaged imbench/conf)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns 0 (written), 1 (no finished runs matched) or 2 (unknown experiment/layout)."""
    args = parse_args(argv)
    try:
        spec = load_table_spec(args.conf_dir, args.experiment)
        if spec.get("layout") not in LAYOUTS:
            raise UnknownExperiment(f"experiment {args.experiment!r} has table layout {spec.get('layout')!r}; "
                                    f"known layouts: {', '.join(LAYOUTS)}")
    except UnknownExperiment as e:
        known = ", ".join(available_experiments(args.conf_dir)) if Path(args.conf_dir, "experiment").is_dir() else "none"
        print(f"imbench.tables: error: {e}. Available experiments (in {args.conf_dir}/experiment): {known}",
              file=sys.stderr)
        return 2
    profiles = sorted(q.stem for q in Path(args.conf_dir, "profile").glob("*.yaml"))
    if profiles and args.profile not in profiles:
        print(f"imbench.tables: error: unknown profile {args.profile!r}; the profiles are: {', '.join(profiles)}",
              file=sys.stderr)
        return 2
    sources = source_experiments(args.experiment, spec)
    records, left_out = keep_experiment_irs(args.conf_dir, collect_records(args.out_dir, sources, args.profile))
    failures, _ = keep_experiment_irs(args.conf_dir, collect_failures(args.out_dir, sources, args.profile))
    failures = unresolved_failures(failures, records, spec.get("rows") or None)
    runnable = [m for m in spec.get("rows", []) if m not in PLANNED and m not in NOT_RUNNABLE]
    if not records:
        others = count_other_profiles(args.out_dir, sources, args.profile)
        seen = f" (found {', '.join(f'{n} of profile {p}' for p, n in others.items())})" if others else ""
        if failures:
            seen += (f"; {len(failures)} run(s) failed: "
                     + "; ".join(failure_lines(failures, lambda m: row_label(m, spec))[:3]))
        msg = (f"imbench.tables: no finished runs of {', '.join(sources)} with profile {args.profile} "
               f"under {args.out_dir}{seen}.")
        if runnable:
            print(f"{msg} Make them with: {run_hint(args.experiment, spec, args.profile, args.out_dir)}",
                  file=sys.stderr)
            return 1
        # Nothing in this table can run yet: still write it, every row marked empty with its reason.
        print(f"{msg} No method of this table can run yet; writing it with every row empty and its reason.", file=sys.stderr)
    out = render(args.experiment, spec, records, args.profile, args.out_dir, notes=left_out, failures=failures)
    paths = write_outputs(out, args.results_dir, args.experiment, args.profile)
    print(out.markdown)
    for path in paths:
        print(f"wrote {path}")
    return 0 if records else 1

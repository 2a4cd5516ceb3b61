"""``python -m imbench.figures EXPERIMENT --block SKEW [--where KEY=VALUE ...]``: a grid of synthetic images
per method (PNG + caption).

Uses the previews the runs saved (``synthetic_preview.npz``) of the first skewed draw of the block and
writes ``<results-dir>/<experiment>_<profile>_<block>[_<values>]_synthetic.png`` (matplotlib) and ``.md``
beside it. ``--where`` keeps the runs whose ``job`` field KEY equals VALUE (``--where data=mnist --where
loss=ls`` for GAMO's Figure 4); the values join the file name.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imbench.figures.grid import GridRow, write_grid
from imbench.figures import parse_where
from imbench.methods.registry import config_dir
from imbench.figures.synthetic import load_preview
from imbench.tables.collect import UnknownExperiment, available_experiments, collect_records, load_table_spec
from imbench.tables.model import row_label


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m imbench.figures", description=__doc__)
    p.add_argument("experiment")
    p.add_argument("--block", required=True, help="skew name of the block, e.g. fajardo_m5")
    p.add_argument("--profile", default="quick")
    p.add_argument("--out-dir", default="outputs")
    p.add_argument("--results-dir", default="results")
    p.add_argument("--per-class", type=int, default=6)
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="keep runs whose job field KEY equals VALUE (repeatable), e.g. data=mnist")
    p.add_argument("--conf-dir", default=str(config_dir()), help="the config folder (default: the packaged imbench/conf)")
    a = p.parse_args(argv)
    try:
        spec = load_table_spec(a.conf_dir, a.experiment)
    except UnknownExperiment as e:
        print(f"imbench.figures: error: {e}. Available experiments: {', '.join(available_experiments(a.conf_dir))}",
              file=sys.stderr)
        return 2
    sources = list(spec.get("sources") or [a.experiment])
    where = parse_where(p, a.where)
    records = [r for r in collect_records(a.out_dir, sources, a.profile) if r["job"]["skew"] == a.block
               and all(str(r["job"].get(k)) == v for k, v in where.items())]
    rows, classes, data, used = [], None, None, []
    for method in spec["rows"]:
        mine = sorted((r for r in records if r["job"]["method"] == method),
                      key=lambda r: (r["job"]["fold"], r["job"]["repeat"]))
        for r in mine:
            preview = load_preview(Path(r["_path"]).parent)
            if preview is not None:
                rows.append(GridRow(label=row_label(method, spec), images=preview.images, labels=preview.labels,
                                    source=r["_path"]))
                used.append(r)
                classes = classes or sorted(int(c) for c in r["job"]["minority"])
                data = r["job"]["data"]
                break
    if not rows:
        print(f"imbench.figures: no run of {', '.join(sources)} (profile {a.profile}, block {a.block}"
              f"{''.join(f', {k}={v}' for k, v in where.items())}) under "
              f"{a.out_dir} saved synthetic previews; run the experiment first", file=sys.stderr)
        return 1
    suffix = "".join(f"_{v}" for v in where.values())
    name = f"{a.experiment}_{a.profile}_{a.block}{suffix}_synthetic.png"
    title = (f"Synthetic images, {data}, {a.block}{''.join(f', {k} {v}' for k, v in where.items() if k != 'data')} "
             f"(profile {a.profile}, first skewed draw)")
    commits = sorted({str((r.get("git") or {}).get("commit")) for r in used})
    hardware = sorted({f"{(r.get('hardware') or {}).get('host')} ({(r.get('hardware') or {}).get('gpu') or 'cpu'})"
                       for r in used})
    made_by = f"python -m imbench.figures {a.experiment} --block {a.block} --profile {a.profile}" + "".join(
        f" --where {k}={v}" for k, v in where.items()) + ("" if a.out_dir == "outputs" else f" --out-dir {a.out_dir}")
    provenance = [f"Made by: {made_by}", f"Git commit(s) of the runs: {', '.join(commits)}",
                  f"Hardware: {'; '.join(hardware)}"]
    files = write_grid(Path(a.results_dir) / name, rows, classes, a.per_class, title, provenance)
    print(f"wrote {files.png} and {files.caption}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

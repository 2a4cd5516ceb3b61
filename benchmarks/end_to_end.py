"""End-to-end wall time of one paper-table make target, from nothing (issue 3, benchmark 4).

    python benchmarks/end_to_end.py [--target table-fajardo-6] [--profile paper] [--args "OVERRIDES"]
                                    [--work DIR] [--out DIR] [--keep]

Runs ``make TARGET PROFILE=... OUT=<work>/runs RESULTS=<work>/results ARGS=...`` in a fresh work folder (so
no finished run is reused), times it, and reads the records it wrote: runs per method, the time spent
oversampling (generator training included), measuring FID and training classifiers (the rest of the wall
time is start-up, data loading, evaluation and writing), and the batched group sizes. Prints
a table and writes ``<out>/end_to_end-<host>-<date>-<time>.json`` (default ``benchmarks/results``) with
the command, hardware, versions and commit. ``--args`` restricts the sweep (Hydra overrides, e.g.
``'hydra.sweeper.params.method="none,smote"' hydra.sweeper.params.skew=fajardo_m3``: the outer quotes
are for the shell of the make recipe, the inner ones for Hydra, which reads an unquoted comma list as a
sweep); the JSON says which
rows and blocks were run, so a partial measurement is never mistaken for the whole table.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench import provenance  # noqa: E402


def summarise(runs_dir: Path) -> dict:
    """Per (method, block): finished runs, seconds oversampling and training, batched group sizes."""
    cells: dict = collections.defaultdict(lambda: {"runs": 0, "oversample_s": 0.0, "fid_s": 0.0, "train_s": 0.0,
                                                   "generator_group_sizes": set(), "classifier_group_sizes": set(),
                                                   "search_group_sizes": set()})
    device = None
    for done in sorted(runs_dir.glob("*/done")):
        rec = json.loads((done.parent / "result.json").read_text())
        job = rec["job"]
        c = cells[(job["method"], job["skew"], job["data"], job["ir"])]
        c["runs"] += 1
        c["oversample_s"] += float(rec["timing"]["oversample_s"] or 0.0) / rec["effective"]["repeats"]
        c["train_s"] += float(rec["timing"]["train_s"] or 0.0)
        if rec.get("fid"):
            c["fid_s"] += float(rec["fid"].get("seconds") or 0.0) / rec["effective"]["repeats"]
        if rec.get("oversampler") and "group_size" in rec["oversampler"]:
            c["generator_group_sizes"].add(rec["oversampler"]["group_size"])
        if rec.get("batched"):
            c["classifier_group_sizes"].add(rec["batched"]["group_size"])
        if (rec.get("weight_search") or {}).get("batched"):
            c["search_group_sizes"].add(rec["weight_search"]["batched"]["group_size"])
        device = rec["hardware"].get("device", device)
    rows = [{"method": m, "skew": s, "data": d, "ir": ir, **{k: sorted(v) if isinstance(v, set) else v
                                                              for k, v in c.items()}}
            for (m, s, d, ir), c in sorted(cells.items())]
    return {"rows": rows, "device": device}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="table-fajardo-6")
    ap.add_argument("--profile", default="paper")
    ap.add_argument("--args", default="", help="extra Hydra overrides for the runs (restrict rows / blocks)")
    ap.add_argument("--work", default=None, help="work folder (default: a new temporary one)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="folder for the JSON")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (runs and tables)")
    a = ap.parse_args(argv)
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="imbench-e2e-"))
    if (work / "runs").exists() and any((work / "runs").iterdir()):
        ap.error(f"{work}/runs is not empty: an end-to-end time needs a fresh folder")
    cmd = ["make", "-C", str(REPO), a.target, f"PROFILE={a.profile}", f"OUT={work / 'runs'}",
           f"RESULTS={work / 'results'}", f"ARGS={a.args}"]
    print("running:", " ".join(shlex.quote(c) for c in cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    (work / "make.log").write_text(proc.stdout)
    summary = summarise(work / "runs")
    print(f"\n{a.target} PROFILE={a.profile} {a.args}: exit {proc.returncode}, {wall:.1f} s wall")
    print(f"  {'method':12s} {'block':12s} {'runs':>4s} {'oversample s':>12s} {'FID s':>7s} {'train s':>9s}  "
          "groups (generator / classifier / weight search)")
    for r in summary["rows"]:
        print(f"  {r['method']:12s} {r['skew']:12s} {r['runs']:4d} {r['oversample_s']:12.1f} {r['fid_s']:7.1f} {r['train_s']:9.1f}  "
              f"{r['generator_group_sizes'] or '-'} / {r['classifier_group_sizes'] or '-'} / {r['search_group_sizes'] or '-'}")
    if proc.returncode:
        print("  make failed; the last lines of its log:\n" + "\n".join(proc.stdout.splitlines()[-15:]))
    result = {"command": " ".join(sys.argv), "make": cmd, "exit": proc.returncode, "wall_s": wall,
              "target": a.target, "profile": a.profile, "restricted_by": a.args or None, **summary,
              "total_runs": sum(r["runs"] for r in summary["rows"]), "host": socket.gethostname(),
              "hardware": provenance.hardware(summary["device"] or "cpu"), "versions": provenance.versions(),
              "git": provenance.git_state(), "work": str(work) if a.keep else None}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"end_to_end-{socket.gethostname()}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {path}")
    if not a.keep and not a.work:
        subprocess.run(["rm", "-rf", str(work)])
    return result


if __name__ == "__main__":
    main()

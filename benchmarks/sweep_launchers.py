"""One sweep under Hydra's basic launcher and under the joblib launcher, side by side, then the kill -9
drill on the joblib sweep.

    python benchmarks/sweep_launchers.py [--data-root DIR] [--n-jobs 2] [--kills 3] [--out DIR]

1. **Wall time**: the sweep ``-m method=none,random,smote,adasyn ir=50,100 profile=quick`` (8 jobs of 2
   runs) with ``hydra/launcher=basic`` and with ``hydra/launcher=joblib hydra.launcher.n_jobs=N``, each
   into a fresh out_dir, in one process, one after the other.
2. **Kill drill**: the joblib sweep into a third out_dir is killed with SIGKILL (its whole process group:
   the launcher and its workers) ``--kills`` times at growing delays, then started once more and left to
   finish. Its records must equal those of the uninterrupted joblib sweep, run id by run id (the same
   thread count per job, so the same numbers), and nothing may be left over: no claim, no temporary
   file, no run directory without ``done``.

Prints the figures and writes ``<out>/sweep_launchers-<host>-<date>-<time>.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from imbench import provenance  # noqa: E402

SWEEP = ["method=none,random,smote,adasyn", "ir=50,100", "profile=quick", "progress=false"]


def command(out_dir: Path, data_root: str | None, launcher: list[str]) -> list[str]:
    root = [f"data.root={data_root}"] if data_root else []
    return [sys.executable, "-m", "imbench", "-m", *launcher, *SWEEP, *root, f"out_dir={out_dir}"]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"sweep failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def records(out_dir: Path) -> dict[str, dict]:
    out = {}
    for path in out_dir.glob("*/result.json"):
        if (path.parent / "done").is_file() and len(path.parent.name) == 16:
            out[path.parent.name] = json.loads(path.read_text())
    return out


def leftovers(out_dir: Path) -> dict[str, int]:
    runs = [p for p in out_dir.iterdir() if p.is_dir() and len(p.name) == 16]
    return {"claims": len(list(out_dir.glob("*/claim"))), "temporary_files": len(list(out_dir.glob("*/*.tmp-*"))),
            "runs_without_done": sum(not (p / "done").is_file() for p in runs),
            "moved_aside": len([p for p in out_dir.iterdir() if ".corrupt-" in p.name])}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=os.environ.get("IMBENCH_DATA"))
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    a = ap.parse_args(argv)
    joblib = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={a.n_jobs}"]
    with tempfile.TemporaryDirectory(prefix="imbench-launchers-") as tmp:
        tmp = Path(tmp)
        basic_s = timed(command(tmp / "basic", a.data_root, []))
        joblib_s = timed(command(tmp / "joblib", a.data_root, joblib))
        print(f"sweep of 8 quick jobs: basic launcher {basic_s:.1f} s, joblib n_jobs={a.n_jobs} {joblib_s:.1f} s "
              f"(ratio {basic_s / joblib_s:.2f})", flush=True)
        reference = records(tmp / "joblib")
        work = {name: sum(sum((r.get("timing") or {}).values()) for r in records(tmp / name).values())
                for name in ("basic", "joblib")}
        print(f"time inside the runs (oversampling + training, summed over runs): basic {work['basic']:.1f} s, "
              f"joblib {work['joblib']:.1f} s; the rest of each sweep's wall time is per-job start-up (imports, "
              "Hydra, data loading) and, for basic, nothing else", flush=True)
        drill, kills = tmp / "drill", []
        for k in range(a.kills):
            # spread over the uninterrupted sweep's length, so that runs finish between kills and each
            # restart resumes a sweep further along
            delay = round(joblib_s * (k + 1) / (a.kills + 1), 1)
            proc = subprocess.Popen(command(drill, a.data_root, joblib), cwd=REPO, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(delay)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            time.sleep(1.0)
            kills.append({"after_s": delay, "finished_runs": len(records(drill))})
            print(f"kill {k + 1}: SIGKILL after {delay:.0f} s, {kills[-1]['finished_runs']} runs finished", flush=True)
        final_s = timed(command(drill, a.data_root, joblib))
        got = records(drill)
        same = sorted(r for r in reference if r in got and got[r]["metrics"] == reference[r]["metrics"])
        differ = sorted(r for r in reference if r in got and got[r]["metrics"] != reference[r]["metrics"])
        missing = sorted(set(reference) - set(got))
        left = leftovers(drill)
        print(f"after the last restart ({final_s:.1f} s): {len(got)} runs; equal to the uninterrupted sweep: "
              f"{len(same)} of {len(reference)}; different: {len(differ)}; missing: {len(missing)}; leftovers: {left}")
    result = {"benchmark": "sweep_launchers", "sweep": SWEEP, "n_jobs": a.n_jobs, "basic_s": basic_s,
              "joblib_s": joblib_s, "ratio_basic_over_joblib": basic_s / joblib_s, "in_run_s": work, "kills": kills,
              "restart_s": final_s, "runs": len(reference), "equal": len(same), "different": differ,
              "missing": missing, "leftovers": left}
    path = provenance.write_benchmark(result, "sweep_launchers", a.out, "cpu", __file__, argv or sys.argv[1:])
    print(f"written {path}")
    return result


if __name__ == "__main__":
    main()

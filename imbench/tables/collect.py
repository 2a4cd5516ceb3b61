"""Finding the table spec of an experiment and turning finished run records into one flat DataFrame."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pandas as pd
from omegaconf import OmegaConf

from imbench.records import iter_failures, iter_records
from imbench.tables.mixing import record_columns

JOB_KEYS = ["experiment", "data", "ir", "skew", "method", "classifier", "loss", "protocol", "seed", "fold", "repeat"]
GROUPS = ("minority", "majority", "overall")
SCALARS = ("acsa", "gm", "accuracy", "auc_pr", "auc_roc")
BASE_COLUMNS = JOB_KEYS + ["m_set", "classes", "profile", "commit", "dirty", "host", "device", "gpu",
                           "processor", "cpu_count", "command", "oversample_s", "train_s", "path"]


class UnknownExperiment(LookupError):
    """The experiment has no ``conf/experiment/<name>.yaml`` (or no ``table`` section)."""


def available_experiments(conf_dir: str | os.PathLike) -> list[str]:
    """Experiment names that have a ``table`` section under ``conf_dir/experiment``."""
    found = []
    for path in sorted(Path(conf_dir, "experiment").glob("*.yaml")):
        if "table" in OmegaConf.load(path):
            found.append(path.stem)
    return found


def load_table_spec(conf_dir: str | os.PathLike, experiment: str) -> dict:
    """The experiment's ``table`` section as a plain dict; raises UnknownExperiment."""
    path = Path(conf_dir, "experiment", f"{experiment}.yaml")
    if not path.is_file():
        raise UnknownExperiment(f"unknown experiment {experiment!r}")
    cfg = OmegaConf.load(path)
    if "table" not in cfg:
        raise UnknownExperiment(f"experiment {experiment!r} has no 'table' section in {path}")
    return OmegaConf.to_container(cfg.table, resolve=True)


def experiment_irs(conf_dir: str | os.PathLike, experiment: str) -> set[float] | None:
    """The IRs an experiment's table is about: ``table.irs`` when the table lists them (a table over data
    sets of different IRs, GAMO's Table 5), else its ``ir`` and the IRs its sweep lists (None: any, also
    when the sweep is not a plain list)."""
    path = Path(conf_dir, "experiment", f"{experiment}.yaml")
    if not path.is_file():
        return None
    cfg = OmegaConf.load(path)
    try:
        listed = OmegaConf.select(cfg, "table.irs", default=None)
        if listed is not None:
            return {float(x) for x in listed}
        irs = {float(cfg.ir)} if cfg.get("ir") is not None else set()
        swept = OmegaConf.select(cfg, "hydra.sweeper.params.ir", default=None)
        if swept is not None:
            irs.update(float(x) for x in str(swept).split(",") if x.strip())
    except (TypeError, ValueError):
        return None
    return irs or None


def keep_experiment_irs(conf_dir: str | os.PathLike, records: list[dict]) -> tuple[list[dict], list[str]]:
    """The records at their experiment's IRs, and a note for each experiment whose other IRs were left out
    (one out_dir may hold runs of several sweeps; a table is about its experiment's IRs)."""
    kept, left = [], {}
    allowed_of: dict[str, set[float] | None] = {}
    by_experiment: dict[str, list[dict]] = {}
    for r in records:
        by_experiment.setdefault(r.get("experiment"), []).append(r)
    for r in records:
        exp = r.get("experiment")
        if exp not in allowed_of:
            allowed_of[exp] = experiment_irs(conf_dir, exp) if exp else None
        allowed = allowed_of[exp]
        ir = (r.get("job") or {}).get("ir")
        try:
            ok = allowed is None or ir is None or float(ir) in allowed
        except (TypeError, ValueError):
            ok = False
        if ok:
            kept.append(r)
        else:
            left.setdefault(exp, []).append(ir)
    notes = []
    for exp, irs in left.items():
        at = ", ".join(sorted({str(i) for i in irs}))
        paper = ", ".join(f"{x:g}" for x in sorted(allowed_of[exp]))
        if len(irs) == len(by_experiment[exp]):  # every run is elsewhere: the user chose another IR; show them
            kept.extend(by_experiment[exp])
            notes.append(f"Note: every run of {exp} here is at ir={at}, not the experiment's ir {paper}; the table "
                         "shows them")
        else:
            notes.append(f"Left out: {len(irs)} finished run(s) of {exp} at ir={at} (this table is at ir {paper}); "
                         "they stay in the out_dir")
    return kept, notes


def profile_of(record: dict) -> str | None:
    return ((record.get("config") or {}).get("profile") or {}).get("name")


def collect_records(out_dir: str | os.PathLike, experiments: Iterable[str], profile: str) -> list[dict]:
    """Finished records of the given experiments made with ``profile``."""
    return [r for e in experiments for r in iter_records(out_dir, e) if profile_of(r) == profile]


def collect_failures(out_dir: str | os.PathLike, experiments: Iterable[str], profile: str) -> list[dict]:
    """Failure markers (``failed.json``) of unfinished runs of these experiments made with ``profile``."""
    return [f for e in experiments for f in iter_failures(out_dir, e) if profile_of(f) == profile]


def unresolved_failures(failures: Iterable[dict], records: Iterable[dict], rows: Iterable[str] | None = None) -> list[dict]:
    """The failures whose cell still lacks that run: a finished record of the same experiment, job, fold
    and repeat (made later under another run id, after a fix that changed the config) settles a failure;
    with ``rows``, only failures of those methods."""
    def key(item: dict) -> tuple:
        job = item.get("job") or {}
        return (item.get("experiment"),) + tuple(str(job.get(k)) for k in JOB_KEYS if k != "experiment")

    finished = {key(r) for r in records}
    wanted = None if rows is None else set(rows)
    return [f for f in failures
            if key(f) not in finished and (wanted is None or f["job"].get("method") in wanted)]


def failure_lines(failures: Iterable[dict], label=lambda method: method) -> list[str]:
    """One line per (method, error): the data sets it failed on and how many runs. ``label`` names a method."""
    runs: dict[tuple[str, str], dict[str, int]] = {}
    for f in failures:
        job = f.get("job") or {}
        per_data = runs.setdefault((str(job.get("method")), str(f.get("error", "")).strip()), {})
        per_data[str(job.get("data"))] = per_data.get(str(job.get("data")), 0) + 1
    lines = []
    for (m, e), per_data in sorted(runs.items()):
        where = ", ".join(f"{d} ({n})" for d, n in sorted(per_data.items()))
        lines.append(f"{label(m)} ({m}), {sum(per_data.values())} run(s) on {len(per_data)} data set(s) [{where}]: {e}")
    return lines


def count_other_profiles(out_dir: str | os.PathLike, experiments: Iterable[str], profile: str) -> dict[str, int]:
    """How many finished records of these experiments were made with each other profile."""
    counts: dict[str, int] = {}
    for e in experiments:
        for r in iter_records(out_dir, e):
            p = str(profile_of(r))
            if p != profile:
                counts[p] = counts.get(p, 0) + 1
    return counts


def _class_map(classes: list, values: Iterable) -> dict:
    return {int(c): v for c, v in zip(classes, values)}


def record_row(record: dict) -> dict:
    """One record flattened: job fields, group/scalar metrics, per-class values keyed by class label."""
    job, m = record.get("job") or {}, record.get("metrics") or {}
    classes = [int(c) for c in m.get("classes", [])]
    hw, git, timing = record.get("hardware") or {}, record.get("git") or {}, record.get("timing") or {}
    row = {k: job.get(k) for k in JOB_KEYS}
    row.update(
        experiment=record.get("experiment"), m_set=tuple(sorted(int(c) for c in job.get("minority") or ())),
        classes=tuple(classes), profile=profile_of(record), commit=git.get("commit"), dirty=git.get("dirty"),
        host=hw.get("host"), device=hw.get("device"), gpu=hw.get("gpu"), processor=hw.get("processor"),
        cpu_count=hw.get("cpu_count"), command=record.get("command"),
        oversample_s=timing.get("oversample_s"), train_s=timing.get("train_s"), path=record.get("_path"),
    )
    for group in GROUPS:
        for k, v in (m.get(group) or {}).items():
            row[f"{group}.{k}"] = v
    for k in SCALARS:
        row[k] = m.get(k)
    for k, v in (m.get("ap_at") or {}).items():
        row[f"ap_at.{k}"] = v
    row.update(record_columns(record))
    for stat, values in (m.get("per_class") or {}).items():
        for c, v in _class_map(classes, values).items():
            row[f"{stat}.{c}"] = v
    fid = record.get("fid") or {}
    for c, v in (fid.get("per_class") or {}).items():
        row[f"fid.{int(c)}"] = v
    for side in ("n_generated", "n_real"):
        for c, v in (fid.get(side) or {}).items():
            row[f"fid_{side}.{int(c)}"] = v
    # JSON turns the int keys of the count dicts into strings.
    for c, v in ((record.get("counts") or {}).get("train_before") or {}).items():
        row[f"train_count.{int(c)}"] = v
    return row


def records_frame(records: Iterable[dict]) -> pd.DataFrame:
    """One row per record (see ``record_row``); always has the base columns, even when empty."""
    df = pd.DataFrame([record_row(r) for r in records])
    for col in BASE_COLUMNS:
        if col not in df.columns:
            df[col] = pd.Series(dtype=object)
    return df

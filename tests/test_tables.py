"""The results collector: layouts on constructed records, the files it writes and its exit codes."""
from __future__ import annotations

import copy
import io
import json
import re
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from imbench.metrics import evaluate, lift_percent
from imbench.records import RESULT, finish_run, run_hash
from imbench.tables import build_table, load_table_spec, mean_ranks, friedman_iman_davenport, render
from imbench.tables.collect import records_frame
from imbench.tables.display import best_mask

REPO = Path(__file__).resolve().parents[1]
M7 = [0, 1, 2, 3, 4, 5, 9]


def fake_metrics(classes: list[int], minority: list[int], seed: int) -> dict:
    """Metrics of a noisy classifier on a small synthetic test set, as the runner stores them."""
    rng = np.random.default_rng(seed)
    y = np.repeat(classes, 12)
    proba = rng.dirichlet(np.ones(len(classes)), size=len(y))
    proba[np.arange(len(y)), [classes.index(c) for c in y]] += rng.uniform(0, 0.8, len(y))
    return evaluate(y, proba / proba.sum(1, keepdims=True), classes, minority)


def make_record(experiment: str, method: str, *, fold: int = 0, repeat: int = 0, data: str = "mnist",
                skew: str = "fajardo_m7", ir: float = 320, minority=M7, classes=tuple(range(10)), loss: str = "ce",
                profile: str = "quick", commit: str = "abc1234", dirty: bool = False, host: str = "box1",
                oversample_s: float = 0.4, counts: dict | None = None, **metric_overrides) -> dict:
    """A record shaped like runner.run_job's; ``metric_overrides`` set metrics by path, levels joined by '__' ('overall__f1')."""
    classes = list(classes)
    metrics = fake_metrics(classes, list(minority), seed=zlib.crc32(f"{method}/{fold}/{repeat}/{data}/{skew}".encode()))
    for path, value in metric_overrides.items():
        keys = path.split("__")
        target = metrics
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return {
        "experiment": experiment,
        "job": {"data": data, "ir": ir, "skew": skew, "method": method, "classifier": "mlp", "loss": loss,
                "protocol": "holdout", "seed": 0, "minority": list(minority), "fold": fold, "repeat": repeat},
        "metrics": metrics,
        "counts": {"train_before": {str(c): n for c, n in (counts or {c: 100 for c in classes}).items()}},
        "timing": {"oversample_s": oversample_s, "train_s": 1.0},
        "config": {"profile": {"name": profile}, "experiment_name": experiment},
        "git": {"commit": commit, "dirty": dirty},
        "hardware": {"host": host, "device": "cpu", "processor": "x86_64", "cpu_count": 8},
        "command": f"python -m imbench -m experiment={experiment} profile={profile}",
    }


def write_records(out_dir: Path, records: list[dict], done: bool = True) -> None:
    for rec in records:
        run_dir = out_dir / run_hash({"r": rec["job"], "p": rec["config"], "x": rec["experiment"]})
        run_dir.mkdir(parents=True)
        if done:
            finish_run(run_dir, rec)
        else:  # interrupted: result written, no completion marker
            (run_dir / RESULT).write_text(json.dumps(rec))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imbench.tables", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def spec_of(experiment: str) -> dict:
    return load_table_spec(REPO / "conf", experiment)


def fajardo_records() -> list[dict]:
    """Block fajardo_m7: SMOTE overall F1 .650/.658 (mean .654), RANDOM .655/.659 (mean .657), RANDOM best m F1."""
    recs = []
    for fold, (s_f1, r_f1) in enumerate([(0.650, 0.655), (0.658, 0.659)]):
        recs.append(make_record("fajardo_5", "smote", fold=fold, overall__f1=s_f1, minority__f1=0.60 + fold / 100,
                                minority__precision=0.9 + fold / 50))
        recs.append(make_record("fajardo_5", "random", fold=fold, overall__f1=r_f1, minority__f1=0.70))
    # Block fajardo_m3 has only SMOTE runs (one draw), so SMOTE is best there.
    recs.append(make_record("fajardo_5", "smote", skew="fajardo_m3", minority=[3, 4, 5], overall__f1=0.78))
    return recs


def test_fajardo_cells_lift_and_asterisk():
    table = build_table(spec_of("fajardo_5"), fajardo_records())
    data = table.data.set_index(["block", "method"])
    smote = data.loc[("fajardo_m7", "smote")]
    assert smote["n"] == 2
    assert smote["overall_f1_mean"] == pytest.approx(0.654)
    assert smote["overall_f1_std"] == pytest.approx(np.std([0.650, 0.658], ddof=1))
    assert smote["minority_precision_mean"] == pytest.approx(0.91)
    assert data.loc[("fajardo_m7", "random"), "lift_percent"] == pytest.approx(lift_percent(0.657, 0.654))
    block = table.blocks[0].frame
    assert table.blocks[0].heading == "m = {0,1,2,3,4,5,9} | M = {6,7,8}"
    assert block.loc["RANDOM*", ("", "Lift %")] == "0.459"  # (.657 - .654) / .654 = +0.459 %
    assert block.loc["SMOTE", ("", "Lift %")] == "-"
    assert block.loc["SMOTE", ("Overall", "F1")] == "0.654"
    assert block.loc["Imbalanced", ("m", "F1")] == ""
    assert [lab for lab in block.index if lab.endswith("*")] == ["RANDOM*"]
    m3 = table.blocks[2].frame
    assert table.blocks[2].heading == "m = {3,4,5} | M = {0,1,2,6,7,8,9}"
    assert [lab for lab in m3.index if lab.endswith("*")] == ["SMOTE*"]
    assert "fajardo_m5 (no runs)" == table.blocks[1].heading
    assert table.empty["Imbalanced (none)"] == "no finished runs"
    assert table.empty["CVAE (cvae)"] == "no finished runs"
    assert "SMOTE (smote)" not in table.empty and "RANDOM (random)" not in table.empty
    assert "RANDOM (random) has no runs for blocks fajardo_m5, fajardo_m3: those cells are blank" in table.notes


def test_compute_counts_a_folds_oversampling_once_for_its_repeats():
    from imbench.tables.header import run_compute_seconds

    repeats = [make_record("fajardo_5", "cgan", repeat=r, oversample_s=100.0) for r in range(3)]
    for r in repeats:
        r["started_at"] = "2026-12-03T10:00:00+00:00"
    later = make_record("fajardo_5", "cgan", repeat=3, oversample_s=100.0)  # fitted again, another time
    later["started_at"] = "2026-12-03T12:00:00+00:00"
    other_fold = make_record("fajardo_5", "cgan", fold=1, oversample_s=100.0)
    assert run_compute_seconds(repeats) == pytest.approx(100.0 + 3 * 1.0)
    assert run_compute_seconds(repeats + [later, other_fold]) == pytest.approx(300.0 + 5 * 1.0)


def test_cli_writes_four_files_with_header_and_filters(tmp_path):
    out, res = tmp_path / "runs", tmp_path / "results"
    write_records(out, fajardo_records())
    paper = make_record("fajardo_5", "smote", fold=7, profile="paper", overall__f1=0.1)
    write_records(out, [paper])
    write_records(out, [make_record("fajardo_5", "smote", fold=8, overall__f1=0.2, dirty=True, commit="ffff")],
                  done=False)
    write_records(out, [make_record("fajardo_6", "smote", fold=9, overall__f1=0.3, ir=80)])
    proc = run_cli("fajardo_5", "--out-dir", str(out), "--results-dir", str(res), "--profile", "quick")
    assert proc.returncode == 0, proc.stderr
    md, csv, tex, meta = (res / f"fajardo_5_quick{ext}" for ext in (".md", ".csv", ".tex", ".provenance.json"))
    assert all(str(path) in proc.stdout for path in (md, csv, tex, meta))
    assert re.search(r"^\| SMOTE +\|", proc.stdout, re.MULTILINE)
    text = md.read_text()
    assert text.startswith("# Table 5: Downstream classifier results for MNIST with rho = 320")
    assert f"python -m imbench.tables fajardo_5 --profile quick --out-dir {out}" in text
    assert "python -m imbench -m experiment=fajardo_5 profile=quick" in text
    assert "Git commit(s) of the runs: abc1234" in text and "ffff" not in text
    assert "Hardware: box1 (device cpu)" in text
    assert "Runs per cell: 1 to 2" in text and "; 5 finished runs in total" in text
    assert "Compute: 7 s of oversampling and training, summed over the runs" in text  # 5 x (0.4 + 1.0) s
    assert "  - CGAN (cgan): no finished runs" in text
    assert "  - Imbalanced (none): no finished runs" in text
    assert "**m = {0,1,2,3,4,5,9} | M = {6,7,8}**" in text
    frame = pd.read_csv(csv)  # plain CSV: no comment lines, one header row
    assert not any(line.startswith("#") for line in csv.read_text().splitlines())
    smote = frame[(frame.block == "fajardo_m7") & (frame.method == "smote")].iloc[0]
    # Neither the paper-profile run (.1), the unfinished run (.2) nor fajardo_6's run (.3) is mixed in.
    assert smote["n"] == 2 and smote["overall_f1_mean"] == pytest.approx(0.654)
    # The CSV's provenance is in the sidecar.
    prov = json.loads(meta.read_text())
    assert prov["title"].startswith("Table 5") and (prov["experiment"], prov["profile"]) == ("fajardo_5", "quick")
    assert prov["compute_s"] == pytest.approx(7.0)
    assert prov["made_by"] == f"python -m imbench.tables fajardo_5 --profile quick --out-dir {out}"
    assert prov["run_commands"] == ["python -m imbench -m experiment=fajardo_5 profile=quick"]
    assert prov["commits"] == [{"commit": "abc1234", "dirty": False}]
    assert prov["hardware"] == [{"host": "box1", "device": "cpu", "gpu": None}]
    assert prov["runs_per_cell"] == {"min": 1, "max": 2} and prov["finished_runs"] == 5
    assert prov["empty_rows"]["CGAN (cgan)"] == "no finished runs"
    assert any("RANDOM (random) has no runs for blocks" in n for n in prov["notes"])
    latex = tex.read_text()
    assert latex.startswith("% Table 5") and r"\begin{tabular}" in latex and "RANDOM* &" in latex
    assert r"m = \{0,1,2,3,4,5,9\} \textbar{} M = \{6,7,8\}" in latex
    assert r"\label{tab:fajardo_5_quick-fajardo_m7}" in latex and r"\label{tab:fajardo_5_quick-fajardo_m3}" in latex


def test_cli_dirty_flag_and_paper_profile(tmp_path):
    out, res = tmp_path / "runs", tmp_path / "results"
    write_records(out, [make_record("gamo_1", "none", profile="paper", dirty=True, commit="dead123", loss=lo)
                        for lo in ("ce", "ls")])
    proc = run_cli("gamo_1", "--out-dir", str(out), "--results-dir", str(res), "--profile", "paper")
    assert proc.returncode == 0, proc.stderr
    text = (res / "gamo_1_paper.md").read_text()
    assert "Git commit(s) of the runs: dead123 (dirty)" in text and "profile: paper" in text
    proc = run_cli("gamo_1", "--out-dir", str(out), "--results-dir", str(res), "--profile", "quick")
    assert proc.returncode == 1
    assert "python -m imbench -m experiment=gamo_1 profile=quick" in proc.stderr
    assert "2 of profile paper" in proc.stderr


def test_no_records_exit_1_and_unknown_experiment_exit_2(tmp_path):
    proc = run_cli("fajardo_6", "--out-dir", str(tmp_path / "empty"), "--results-dir", str(tmp_path / "r"))
    assert proc.returncode == 1
    assert "python -m imbench -m experiment=fajardo_6 profile=quick" in proc.stderr
    assert not (tmp_path / "r").exists()
    proc = run_cli("no_such_table", "--results-dir", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "unknown experiment 'no_such_table'" in proc.stderr and "fajardo_5" in proc.stderr


def test_gamo_cells():
    recs = [make_record("gamo_1", m, fold=f, data=d, loss=lo, skew="gamo_mnist", acsa=a, gm=a - 0.01)
            for m, d, lo, vals in [("none", "mnist", "ce", (0.87, 0.89)), ("none", "mnist", "ls", (0.9, 0.9)),
                                   ("none", "fmnist", "ce", (0.81, 0.83)), ("smote", "mnist", "ls", (0.5, 0.6)),
                                   ("cgan_cn", "mnist", "ls", (0.7, 0.7)), ("cdcgan_cn", "fmnist", "ls", (0.6, 0.6)),
                                   ("cgan_cn", "fmnist", "ls", (0.1, 0.1))]
            for f, a in enumerate(vals)]
    table = build_table(spec_of("gamo_1"), recs)
    frame = table.blocks[0].frame
    assert frame.loc["Baseline CN", ("MNIST", "CE", "ACSA")] == "0.88±0.01"
    assert frame.loc["Baseline CN", ("MNIST", "CE", "GM")] == "0.87±0.01"
    assert frame.loc["Baseline CN", ("MNIST", "LS", "ACSA")] == "0.90±0.00"
    assert frame.loc["SMOTE+CN", ("MNIST", "LS", "ACSA")] == "0.55±0.07"
    assert frame.loc["SMOTE+CN", ("Fashion-MNIST", "CE", "ACSA")] == ""
    # the cGAN row: cgan_cn on MNIST, cdcgan_cn on Fashion-MNIST (row_methods), never cgan_cn's Fashion runs
    assert frame.loc["(cGAN/cDCGAN)+CN", ("MNIST", "LS", "ACSA")] == "0.70±0.00"
    assert frame.loc["(cGAN/cDCGAN)+CN", ("Fashion-MNIST", "LS", "ACSA")] == "0.60±0.00"
    row = table.data.set_index("method").loc["smote"]
    assert row["mnist_ls_acsa_mean"] == pytest.approx(0.55) and row["mnist_ls_acsa_std"] == pytest.approx(0.0707107)
    assert table.empty["DOS (dos)"] == table.empty["GAMO (gamo)"] == "no finished runs"  # implemented, no runs here


def _per_class(recall8: float, recall9: float, f1_8: float) -> dict:
    # classes [2, 5, 8, 9]: class 8 is at index 2, class 9 at index 3
    return {"recall": [0.99, 0.98, recall8, recall9], "f1": [0.9, 0.9, f1_8, 0.8],
            "precision": [0.9] * 4, "support": [10] * 4}


def imsic_records(with_reference: bool) -> list[dict]:
    rng = np.random.default_rng(3)
    recs = []
    methods = ["smote", "imsic"] if with_reference else ["smote"]
    for fold in range(10):
        noise9 = rng.normal(0, 0.01)
        for m in methods:
            r8 = (0.89 if m == "imsic" else 0.83) + rng.normal(0, 0.002)
            rec = make_record("imsic_1", m, fold=fold, skew="gamo_mnist", minority=[8, 9], classes=[2, 5, 8, 9],
                              counts={2: 4000, 5: 350, 8: 60, 9: 40})
            # class 9: the same per-fold value for both methods apart from tiny noise -> no significant difference
            rec["metrics"]["per_class"] = _per_class(r8, 0.77 + noise9 + rng.normal(0, 0.01), 0.9)
            recs.append(rec)
    return recs


def test_imsic_per_class_and_significance_mark():
    recs = imsic_records(with_reference=True)
    table = build_table(spec_of("imsic_1"), recs)
    frame = table.blocks[0].frame
    smote8 = [r["metrics"]["per_class"]["recall"][2] for r in recs if r["job"]["method"] == "smote"]
    assert ("MNIST", "8 (IR=67:1)", "Recall") in frame.columns
    expected = f"{np.mean(smote8):.3f} ± {np.std(smote8, ddof=1):.3f}".replace("0.", ".") + " •"
    assert frame.loc["SMOTE", ("MNIST", "8 (IR=67:1)", "Recall")] == expected
    assert not frame.loc["SMOTE", ("MNIST", "9 (IR=100:1)", "Recall")].endswith("•")
    assert not frame.loc["Ours (IMSIC)", ("MNIST", "8 (IR=67:1)", "Recall")].endswith("•")
    assert frame.loc["SMOTE", ("Fashion-MNIST", "Bag", "Recall")] == ""
    p = table.data.set_index("method").loc["smote", "mnist_class8_recall_p_vs_reference"]
    assert p < 1e-6
    assert table.empty == {"InfoGAN (infogan)": "no finished runs",
                           "DGC (dgc)": "no finished runs"}


def test_imsic_without_reference_says_marks_need_it():
    table = build_table(spec_of("imsic_1"), imsic_records(with_reference=False))
    assert not any("•" in str(v) for v in table.blocks[0].frame.to_numpy().ravel())
    assert any("need the reference method's runs" in n and "imsic" in n for n in table.notes)
    assert "Ours (IMSIC) (imsic)" in table.empty


def egl_records(values: dict[str, dict[str, float]]) -> list[dict]:
    """AUC-PR per data set and method; two splits at value -/+ 0.01."""
    return [make_record("egl_2", m, fold=f, data=d, skew="none", minority=[1], classes=[0, 1], auc_pr=v + s)
            for d, per in values.items() for m, v in per.items() for f, s in enumerate((-0.01, 0.01))]


def test_egl_datasets_mean_rank_with_tie_and_friedman():
    values = {
        "ecoli": {"none": 0.50, "random": 0.50, "smote": 0.30, "adasyn": 0.20},  # tie for the first place
        "abalone": {"none": 0.30, "random": 0.40, "smote": 0.35, "adasyn": 0.10},
        "oil": {"none": 0.60, "random": 0.70, "smote": 0.80, "adasyn": 0.90},
        "webpage": {"none": 0.70, "random": 0.60, "smote": 0.80, "adasyn": 0.50},
        "scene": {"none": 0.2, "random": 0.3, "smote": 0.4},  # no ADASYN: left out of mean and rank
    }
    table = build_table(spec_of("egl_2"), egl_records(values))
    frame = table.blocks[0].frame
    assert list(frame.index) == ["ecoli", "abalone", "scene", "oil", "webpage", "mean", "mean rank"]
    assert frame.loc["ecoli", "CE"] == "0.50+0.01"
    expected = {"CE": (1.5 + 3 + 4 + 2) / 4, "ROS": (1.5 + 1 + 3 + 3) / 4, "SMOTE": (3 + 2 + 2 + 1) / 4,
                "ADASYN": (4 + 4 + 1 + 4) / 4}
    for label, rank in expected.items():
        assert frame.loc["mean rank", label] == f"{rank:.2f}"
    assert frame.loc["mean rank", "BSMOTE"] == "" and frame.loc["mean", "Ours"] == ""
    ce = [0.50, 0.30, 0.60, 0.70]
    assert frame.loc["mean", "CE"] == f"{np.mean(ce):.2f}+{np.std(ce, ddof=1):.2f}"
    assert any("scene" in n for n in table.notes)
    assert table.empty["BSMOTE (borderline_smote)"] == "no finished runs"
    assert table.empty["Ours (egl)"] == "no finished runs"
    # Friedman over the four complete data sets (scipy corrects for ecoli's tie).
    means = np.array([[values[d][m] for m in ("none", "random", "smote", "adasyn")]
                      for d in ("ecoli", "abalone", "oil", "webpage")])
    chi2 = stats.friedmanchisquare(*means.T).statistic
    assert f"chi2_F = {chi2:.4f}" in table.footer[0] and "k = 4 methods and N = 4 data sets" in table.footer[0]
    f = 3 * chi2 / (4 * 3 - chi2)
    assert f"F_F = {f:.4f} with (3, 9) d.o.f., p = {stats.f.sf(f, 3, 9):.4g}" in table.footer[0]
    # Bold: best AUC-PR per data set (row), both tied CE and ROS on ecoli, lowest mean rank.
    bold = best_mask(table.blocks[0]).set_axis(frame.index).set_axis(frame.columns, axis=1)
    assert bold.loc["ecoli"].tolist() == [True, True, False, False, False, False]
    assert bold.loc["scene", "SMOTE"] and bold.loc["mean rank", "SMOTE"] and bold.loc["mean rank"].sum() == 1


def test_friedman_iman_davenport_matches_scipy():
    rng = np.random.default_rng(0)
    scores = rng.uniform(size=(12, 5))  # 12 data sets, 5 methods, no ties
    r = friedman_iman_davenport(scores)
    scipy_result = stats.friedmanchisquare(*scores.T)
    assert (r.chi2, r.chi2_p) == (scipy_result.statistic, scipy_result.pvalue)
    # Without ties scipy's statistic is Demsar's formula on the mean ranks.
    ranks = mean_ranks(scores)
    assert r.chi2 == pytest.approx(12 * 12 / (5 * 6) * (np.sum(ranks**2) - 5 * 36 / 4))
    assert r.f == pytest.approx(11 * r.chi2 / (12 * 4 - r.chi2))
    assert (r.n, r.k, r.df1, r.df2) == (12, 5, 4, 44)
    assert r.p == pytest.approx(stats.f.sf(r.f, 4, 44))
    tied = np.round(scores, 1)
    assert friedman_iman_davenport(tied).chi2 == stats.friedmanchisquare(*tied.T).statistic
    # Every data set in the same order: F_F is infinite.
    same = friedman_iman_davenport(np.tile([0.9, 0.5, 0.1], (4, 1)))
    assert same.chi2 == pytest.approx(8.0) and same.f == np.inf and same.p == 0.0


def test_mean_ranks_are_rankdata_of_each_data_set():
    scores = np.array([[0.5, 0.5, 0.3], [0.1, 0.2, 0.3]])
    assert list(mean_ranks(scores)) == [2.25, 1.75, 2.0]
    expected = np.mean([stats.rankdata(-row, method="average") for row in scores], axis=0)
    assert np.array_equal(mean_ranks(scores), expected)


def test_egl_adult_delta_and_ap():
    spec = copy.deepcopy(spec_of("egl_1"))
    recs = [make_record("egl_1", m, fold=f, data="adult", skew="binary", ir=ir, minority=[1], classes=[0, 1],
                        auc_pr=v, ap_at={"0.75": 0.1, "0.5": 0.2 + f / 10, "0.25": 0.5})
            for m, ir, v in [("none", 50, 0.333), ("smote", 50, 0.312), ("none", 100, 0.308)] for f in range(2)]
    table = build_table(spec, recs)
    frame = table.blocks[0].frame
    assert frame.loc[("CE", "50:1"), "AUC-PR"] == "0.333±0.000"
    assert frame.loc[("CE", "50:1"), "Δ"] == ""  # Potential (the reference) has no runs
    assert frame.loc[("SMOTE", "50:1"), "AP@0.5"] == f"0.250±{np.std([0.2, 0.3], ddof=1):.3f}"
    assert any("reference Potential (potential) has no runs" in n for n in table.notes)
    spec["reference"] = "none"
    block = build_table(spec, recs).blocks[0]
    frame = block.frame
    assert frame.loc[("SMOTE", "50:1"), "Δ"] == f"{100 * (0.312 - 0.333) / 0.333:.1f}%"
    assert frame.loc[("CE", "50:1"), "Δ"] == "baseline" and frame.loc[("SMOTE", "100:1"), "Δ"] == ""
    # Bold compares methods at the same IR only: CE is best at 50:1, alone (so not bold) at 100:1;
    # AP@0.75 ties everywhere, so nothing stands out there.
    bold = best_mask(block).set_axis(frame.index).set_axis(frame.columns, axis=1)
    assert bold.loc[("CE", "50:1"), "AUC-PR"] and not bold.loc[("SMOTE", "50:1"), "AUC-PR"]
    assert not bold.loc[("CE", "100:1"), "AUC-PR"] and not bold["AP@0.75"].any()
    assert not bold["Δ"].any()  # the reference's own Δ ('baseline') is no contender, SMOTE's is alone


def test_fajardo_timing_from_sources():
    recs = [make_record(e, "smote", fold=f, repeat=r, data=d, ir=ir, oversample_s=t + f)
            for e, d, ir, t in [("fajardo_5", "mnist", 320, 0.4), ("fajardo_7", "fmnist", 320, 0.3)]
            for f in range(2) for r in range(3)]
    out = render("fajardo_9", spec_of("fajardo_9"), recs, "quick")
    mnist, fmnist = out.table.blocks
    assert (mnist.heading, fmnist.heading) == ("MNIST", "Fashion-MNIST")
    assert mnist.frame.loc["SMOTE", ("m = {0,1,2,3,4,5,9}", "ρ = 320")] == "0.900"
    assert fmnist.frame.loc["SMOTE", ("m = {0,1,2,3,4,5,9}", "ρ = 320")] == "0.800"
    assert out.table.cell_counts == [2, 2]  # repeats of one fold share its oversampling time
    assert out.table.empty["CVAE (cvae)"] == "no finished runs"
    # Table 9's CVAE row is the 10-epoch CVAE of fajardo_9 only, not the Table 5-8 generators.
    cvae = [make_record("fajardo_5", "cvae", fold=0, data="mnist", ir=320, oversample_s=99.0),
            make_record("fajardo_9", "cvae", fold=0, data="mnist", ir=320, oversample_s=3.0)]
    out = render("fajardo_9", spec_of("fajardo_9"), recs + cvae, "quick")
    assert out.table.blocks[0].frame.loc["CVAE", ("m = {0,1,2,3,4,5,9}", "ρ = 320")] == "3.000"
    assert "Timings measured on: box1 (x86_64, 8 CPUs)" in out.markdown


def test_latex_escapes_labels():
    recs = [make_record("gamo_2", "none", fold=f, data="cifar10", loss="ls", acsa=0.45) for f in range(2)]
    out = render("gamo_2", spec_of("gamo_2"), recs, "quick")
    assert r"GAMO\textbackslash D" in out.latex and r"0.45$\pm$0.00" in out.latex
    assert r"\multicolumn{2}{c}{CIFAR10}" in out.latex
    assert pd.read_csv(io.StringIO(out.csv)).loc[0, "cifar10_ls_acsa_mean"] == pytest.approx(0.45)


def _tabular_rows(latex: str) -> list[str]:
    """Body rows (between midrule and bottomrule) of every tabular in ``latex``."""
    rows = []
    for body in re.findall(r"\\midrule\n(.*?)\\bottomrule", latex, re.DOTALL):
        rows += body.splitlines()
    return rows


def test_latex_booktabs_caption_label_escaping_and_bold_best():
    out = render("fajardo_5", spec_of("fajardo_5"), fajardo_records(), "quick")
    latex = out.latex
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert latex.count(rule) == 3  # one table float per block
    assert latex.count(r"\begin{table}") == 3 and r"\hline" not in latex
    assert (r"\caption{Table 5: Downstream classifier results for MNIST with rho = 320. fajardo\_m5 (no runs). "
            r"Bold: highest mean per column (higher is better for precision, recall, F1 and Lift \%).}") in latex
    assert r"\label{tab:fajardo_5_quick-fajardo_m5}" in latex
    body = "\n".join(line for line in latex.splitlines() if not line.startswith("%"))  # the header is comments
    assert r"Lift \%" in body and "Lift %" not in body
    assert "fajardo_m5" not in body.replace("tab:fajardo_5_quick-fajardo_m", "")  # underscores escaped
    rows = {r.split(" & ")[0]: r.split(" & ")[1:] for r in _tabular_rows(latex)[:10]}  # block fajardo_m7
    # m F1: RANDOM .700 beats SMOTE .605; m Prec.: SMOTE .910 beats RANDOM .780; Overall F1: RANDOM.
    assert rows["RANDOM*"][2] == r"\textbf{0.700}" and rows["SMOTE"][2] == "0.605"
    assert rows["SMOTE"][0] == r"\textbf{0.910}" and rows["RANDOM*"][0] == "0.780"
    assert rows["RANDOM*"][8] == r"\textbf{0.657}"
    assert rows["SMOTE"][9] == r"- \\" and rows["RANDOM*"][9] == r"0.459 \\"  # a lone contender is not bold
    # Block m3 has one method: nothing to compare, nothing bold.
    assert not any(r"\textbf" in r for r in _tabular_rows(latex)[20:])


def test_fid_bold_is_the_lowest():
    recs = []
    for method, base in [("smote", 50.0), ("cvae", 40.0)]:
        rec = make_record("fajardo_5", method, skew="fajardo_m3", minority=[3, 4, 5])
        rec["fid"] = {"per_class": {"3": base, "4": base + 20 if method == "cvae" else base, "5": base}}
        recs.append(rec)
    out = render("fajardo_1", spec_of("fajardo_1"), recs, "quick")
    assert "Bold: lowest FID per class (lower is better)." in out.latex
    rows = {r.split(" & ")[0]: r.split(" & ")[1:] for r in _tabular_rows(out.latex) if "&" in r}
    assert rows["SMOTE"] == ["50.0", r"\textbf{50.0}", r"50.0 \\"]
    assert rows["CVAE"] == [r"\textbf{40.0}", "60.0", r"\textbf{40.0} \\"]


@pytest.mark.parametrize("experiment", ["fajardo_5", "egl_2", "gamo_1", "imsic_1", "fajardo_1", "fajardo_9"])
def test_csv_round_trip_equals_the_aggregated_frame(experiment):
    recs = {"fajardo_5": fajardo_records(), "egl_2": egl_records({"oil": {"none": 0.6, "smote": 0.7}}),
            "imsic_1": imsic_records(with_reference=True)}.get(experiment, fajardo_records())
    out = render(experiment, spec_of(experiment), recs, "quick")
    frame = pd.read_csv(io.StringIO(out.csv))
    pd.testing.assert_frame_equal(frame, out.table.data, check_dtype=False)


def test_fajardo_fid_table_means_over_draws_not_repeats():
    recs = []
    for method, base in [("smote", 50.0), ("cvae", 80.0)]:
        for f in range(2):
            for r in range(3):  # repeats of one draw copy its FID: must count once
                rec = make_record("fajardo_5", method, fold=f, repeat=r, skew="fajardo_m3", minority=[3, 4, 5])
                rec["fid"] = {"per_class": {"3": base + f, "4": base + 10 + f, "5": base + 20 + f}}
                recs.append(rec)
    recs.append(make_record("fajardo_5", "none", skew="fajardo_m3", minority=[3, 4, 5]))  # no synthetic set
    out = render("fajardo_1", spec_of("fajardo_1"), recs, "quick")
    m3 = out.table.blocks[2]
    assert m3.heading == "m = {3,4,5}"
    assert list(m3.frame.columns) == ["3", "4", "5"]
    assert m3.frame.loc["SMOTE", "3"] == "50.5" and m3.frame.loc["CVAE", "5"] == "100.5"
    assert m3.frame.loc["BAGAN", "4"] == ""
    assert out.table.cell_counts == [2] * 6
    assert "BAGAN (bagan)" in out.table.empty and "SMOTE (smote)" not in out.table.empty
    csv = pd.read_csv(io.StringIO(out.csv))
    row = csv[(csv["method"] == "cvae") & (csv["class"] == 3)].iloc[0]
    assert row["fid_mean"] == pytest.approx(80.5) and row["fid_std"] == pytest.approx(np.std([80, 81], ddof=1))


def imsic_ir_records() -> list[dict]:
    """IMSIC Fig. 3 runs: SMOTE and IMSIC at IR 50 and 500 (3 draws), class 9 the rarest; IMSIC's
    class-9 recall is 0.8 at IR 50 and 0.4 at IR 500, SMOTE's 0.1 lower."""
    recs = []
    for ir in (50, 500):
        for fold in range(3):
            for m, drop in (("smote", 0.1), ("imsic", 0.0)):
                base = (0.8 if ir == 50 else 0.4) - drop
                rec = make_record("imsic_fig3", m, fold=fold, skew="exp", ir=ir, minority=[5, 9], classes=[2, 5, 8, 9],
                                  counts={2: 4000, 5: 900, 8: int(4000 / ir) + 1, 9: int(4000 / ir)})
                rec["metrics"]["per_class"] = _per_class(0.5, base + 0.01 * fold, 0.5)
                recs.append(rec)
    return recs


def test_imsic_ir_layout_one_block_per_ir_with_the_rarest_class():
    table = build_table(spec_of("imsic_fig3"), imsic_ir_records())
    assert [b.heading for b in table.blocks] == ["IR 50", "IR 500"]
    low, high = (b.frame for b in table.blocks)
    col = ("MNIST", "9 (IR=50:1)", "Recall")
    assert low.loc["Ours (IMSIC)", col] == ".810 ± .010"
    assert high.loc["Ours (IMSIC)", ("MNIST", "9 (IR=500:1)", "Recall")] == ".410 ± .010"
    assert low.loc["SMOTE", col].endswith("•")  # IMSIC better by 0.1 on every draw
    assert set(table.data["ir"]) == {50.0, 500.0}
    assert "InfoGAN (infogan)" in table.empty and "SMOTE (smote)" not in table.empty


def test_ir_sweep_figure_rarest_class_per_run_and_files(tmp_path):
    from imbench.figures import ir_sweep
    out, res = tmp_path / "runs", tmp_path / "results"
    write_records(out, imsic_ir_records())
    code = ir_sweep.main(["imsic_fig3", "--out-dir", str(out), "--results-dir", str(res), "--where", "data=mnist"])
    assert code == 0
    png = res / "imsic_fig3_quick_mnist_ir_sweep.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    numbers = pd.read_csv(png.with_suffix(".csv")).set_index(["method", "ir"])
    assert numbers.loc[("imsic", 50.0), "recall_mean"] == pytest.approx(0.81)
    assert numbers.loc[("smote", 500.0), "recall_mean"] == pytest.approx(0.31)
    assert numbers.loc[("imsic", 500.0), "recall_std"] == pytest.approx(0.01)
    assert (numbers["n_runs"] == 3).all()
    caption = png.with_suffix(".md").read_text()
    assert "Made by: python -m imbench.figures.ir_sweep imsic_fig3" in caption
    assert "| Ours (IMSIC) | 500 | 500.0 | 3 |" in caption
    assert ir_sweep.main(["imsic_fig3", "--out-dir", str(tmp_path / "none"), "--results-dir", str(res)]) == 1


def test_ir_sweep_names_the_realised_ir_where_whole_images_raise_it(tmp_path):
    from imbench.figures import ir_sweep
    recs = []
    for fold in range(2):  # 4000/300 = 13.3 images: the draw keeps 13, so its IR is 4000/13 = 307.7
        rec = make_record("imsic_fig3", "imsic", fold=fold, skew="exp", ir=300, minority=[9], classes=[2, 9],
                          counts={2: 4000, 9: 13})
        rec["metrics"]["per_class"] = _per_class(0.5, 0.5, 0.5)
        recs.append(rec)
    values = ir_sweep.rarest_class_values(records_frame(recs), ["recall"])
    assert values["realised_ir"].tolist() == pytest.approx([4000 / 13] * 2)
    summary = ir_sweep.summarise(values, ["recall"])
    assert summary.loc[0, "realised_ir"] == pytest.approx(307.69, abs=0.01)
    assert ir_sweep.ir_tick_label(300, 4000 / 13) == "300\n(308)"
    assert ir_sweep.ir_tick_label(500, 500.0) == "500"
    assert ir_sweep.ir_tick_label(50, 4000 / 80.2) == "50"  # 49.9: within 0.5%
    assert ir_sweep.ir_tick_label(50, 4000 / 81) == "50\n(49)"  # 49.4: 1.2% off


def test_mesa_row_is_empty_with_the_reason_it_cannot_run(monkeypatch):
    from imbench.methods.registry import PLANNED
    from imbench.tables.model import empty_reason

    reason = empty_reason("mesa")
    assert "imbalanced-ensemble" in reason and "never copies a number" in reason
    assert "cwgan" not in PLANNED and empty_reason("cwgan") == "no finished runs"  # implemented: it runs
    monkeypatch.setitem(PLANNED, "future_method", "Somebody 2030")
    assert empty_reason("future_method") == "method not implemented yet (planned: Somebody 2030)"


def test_scores_equal_but_for_summation_order_tie_in_the_rank_tests():
    from imbench.tables.stats import friedman_iman_davenport, mean_ranks

    a = 0.35
    b = float(np.nextafter(a, 1.0))  # what averaging the same runs in another order can give
    exact = np.array([[a, a, 0.1], [0.5, 0.4, 0.3], [0.2, 0.6, 0.6], [0.9, 0.1, 0.5]])
    noisy = exact.copy()
    noisy[0, 1] = b
    assert list(mean_ranks(noisy)) == list(mean_ranks(exact)) and mean_ranks(exact)[0] == pytest.approx(1.625)
    assert friedman_iman_davenport(noisy) == friedman_iman_davenport(exact)


def test_neighbouring_floats_across_a_rounding_boundary_still_tie():
    from imbench.tables.stats import mean_ranks

    a, b = 0.2500000000005, 0.25000000000050004  # one ulp apart, rounded to 12 places they would differ
    assert np.round(a, 12) != np.round(b, 12)
    assert list(mean_ranks([[a, b, 0.1], [b, a, 0.1]])) == [1.5, 1.5, 3.0]

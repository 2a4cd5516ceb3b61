"""The sweep report (imbench.report): the tidy frame, missing runs, separate settings, the tests, the HTML
page and the command line, on records written here with known numbers."""
from __future__ import annotations

import base64
import json
import math
import re
import subprocess
import sys
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from scipy import stats

from imbench.config import apply_profile, identity
from imbench.figures.synthetic import save_preview
from imbench.records import RESULT, finish_run, run_hash
from imbench.report.cd_diagram import Clique, cliques, draw_cd
from imbench.report.cli import main as report_main
from imbench.report.completeness import DIRECTORY_WITHOUT_DONE, NO_DIRECTORY, UNREADABLE, assess
from imbench.report.frame import build_sweep
from imbench.report.make import ReportOptions, make_report
from imbench.report.reading import read_runs
from imbench.report.significance import paired_comparisons, rank_test
from imbench.report.summary import summarize, summary_table
from imbench.runner import job_description
from imbench.tables.render import to_markdown
from imbench.tables.stats import holm, nemenyi_critical_difference, paired_tests

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "imbench" / "conf"
CLASSES = list(range(10))
MINORITY = [7, 8, 9]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@lru_cache(maxsize=None)
def _composed(overrides: tuple[str, ...]) -> str:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = OmegaConf.to_container(compose(config_name="config", overrides=list(overrides)), resolve=True)
    return json.dumps(cfg)


def config(method: str = "none", ir: int = 100, data: str = "mnist", *extra: str) -> dict:
    """A composed config, as ``python -m imbench`` would run it (profile quick, up to 3 folds)."""
    return json.loads(_composed((f"data={data}", f"ir={ir}", f"method={method}", "profile=quick",
                                 "profile.max_folds=3", "folds=3", *extra)))


def metrics(acsa: float, minority_recall: float | None = None) -> dict:
    """Metrics shaped like imbench.metrics.evaluate's: per-class recall 1 - (1 - acsa) spread so that the
    minority classes' mean is ``minority_recall``."""
    m = acsa - 0.05 if minority_recall is None else minority_recall
    others = (acsa * len(CLASSES) - m * len(MINORITY)) / (len(CLASSES) - len(MINORITY))
    recall = [m if c in MINORITY else others for c in CLASSES]
    group = lambda idx: {"recall": float(np.mean([recall[i] for i in idx])), "precision": 0.9, "f1": 0.8}  # noqa: E731
    majority = [c for c in CLASSES if c not in MINORITY]
    return {"classes": CLASSES, "acsa": acsa, "gm": float(np.exp(np.mean(np.log(recall)))), "accuracy": acsa,
            "auc_pr": min(1.0, acsa + 0.05), "auc_roc": 0.99, "minority": group(MINORITY),
            "majority": group(majority), "overall": group(CLASSES),
            "per_class": {"recall": recall, "precision": [0.9] * 10, "f1": [0.8] * 10, "support": [100] * 10}}


def write_run(out_dir: Path, cfg: dict, fold: int, acsa: float, *, repeat: int = 0, done: bool = True,
              minority_recall: float | None = None, preview: bool = False) -> Path:
    """A minimal but valid run: its directory is named by the runner's hash, the record has what the
    runner writes that the report reads."""
    eff = apply_profile(cfg)
    run_id = run_hash({**identity(eff), "fold": fold, "repeat": repeat})
    record = {
        "experiment": None, "run_id": run_id,
        "job": {**job_description(eff), "minority": MINORITY, "fold": fold, "repeat": repeat},
        "method": {"kind": "resample", "label": cfg["method"]["name"].upper(), "reference": ""},
        "metrics": metrics(acsa, minority_recall), "config": cfg,
        "effective": {"folds": eff["folds"], "repeats": eff["repeats"]},
        "counts": {"train_before": {str(c): 100 for c in CLASSES}},
        "timing": {"oversample_s": 0.1, "train_s": 1.0}, "git": {"commit": "c0ffee" * 6 + "abcd", "dirty": False},
        "hardware": {"host": "testbox", "device": "cpu", "platform": "Linux", "processor": "x86_64",
                     "cpu_count": 2, "torch_threads": 1},
        "versions": {"imbench": "0.2.0", "torch": "2.x", "python": "3.11"},
        "command": f"python -m imbench -m method={cfg['method']['name']} ir={cfg['ir']}",
        "started_at": f"2026-01-01T00:0{fold}:00+00:00", "finished_at": f"2026-01-01T00:0{fold}:30+00:00",
    }
    run_dir = out_dir / run_id
    run_dir.mkdir(parents=True)
    if preview:
        rng = np.random.default_rng(fold)
        y = np.repeat(MINORITY, 6)
        save_preview(run_dir, rng.random((len(y), 1, 8, 8)), y, np.ones(len(y), bool), MINORITY, per_class=3)
    if done:
        finish_run(run_dir, record)
    else:  # interrupted after writing its result, before the done marker
        (run_dir / RESULT).write_text(json.dumps(record))
    return run_dir


def sweep_of(out_dir: Path, by=None):
    runset = read_runs(out_dir, progress=False)
    return runset, build_sweep(runset, by)


# acsa per fold of each method at IR 100 (three folds, matched)
ACSA = {"none": [0.80, 0.82, 0.78], "random": [0.85, 0.86, 0.84], "smote": [0.86, 0.89, 0.85]}


@pytest.fixture(scope="module")
def complete_sweep(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("complete")
    for method, values in ACSA.items():
        for ir, shift in ((50, 0.03), (100, 0.0)):
            for fold, v in enumerate(values):
                write_run(out, config(method, ir), fold, v + shift, preview=method != "none")
    return out


def test_frame_has_one_row_per_run_equal_to_its_record(complete_sweep):
    runset, sweep = sweep_of(complete_sweep)
    runs = sweep.runs
    assert len(runs) == 18 and runs["run_id"].is_unique and runs["setting"].nunique() == 6
    assert runs["block"].nunique() == 2 and runs["family"].nunique() == 1
    for rec in runset.records[::4]:
        row = runs.loc[runs["run_id"] == rec["run_id"]].iloc[0]
        m = rec["metrics"]
        assert row["acsa"] == m["acsa"] and row["gm"] == m["gm"] and row["auc_pr"] == m["auc_pr"]
        assert row["minority.recall"] == m["minority"]["recall"]
        assert row["recall.8"] == m["per_class"]["recall"][8] and row["recall.0"] == m["per_class"]["recall"][0]
        assert (row["method"], row["ir"], row["fold"], row["data"]) == (
            rec["job"]["method"], rec["job"]["ir"], rec["job"]["fold"], rec["job"]["data"])
        assert row["command"] == rec["command"] and row["commit"] == rec["git"]["commit"]
        assert row["started_at"] == rec["started_at"] and Path(row["path"]).parent.name == rec["run_id"]
    # the identity recomputed from each record is the one the runner hashed into its directory name
    assert all(s.exact for s in sweep.settings.values())
    assert sweep.setting_keys == []


def test_paired_tests_equal_scipy_and_holm_equals_a_hand_computed_case(complete_sweep):
    ref = pd.Series([0.80, 0.82, 0.78, 0.75, 0.90], index=range(5))
    other = pd.Series([0.85, 0.86, 0.79, 0.80, 0.89], index=range(5))
    tests = paired_tests(ref, other)
    assert tests.t_p == pytest.approx(stats.ttest_rel(other, ref).pvalue)
    assert tests.t == pytest.approx(stats.ttest_rel(other, ref).statistic)
    assert tests.w_p == pytest.approx(stats.wilcoxon(other, ref).pvalue)
    assert tests.pairs == 5 and tests.mean_difference == pytest.approx(np.mean(other - ref))
    # only the shared units are paired
    assert paired_tests(ref, other.drop(4)).t_p == pytest.approx(stats.ttest_rel(other[:4], ref[:4]).pvalue)

    # Holm, m = 4: sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, max(0.06, 1*0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = holm([0.5, math.nan, 0.6])
    assert adjusted[0] == pytest.approx(1.0) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(1.0)

    _, sweep = sweep_of(complete_sweep)
    paired = paired_comparisons(sweep, ["acsa"], "none").table
    row = paired[(paired["method"] == "smote") & (paired["block"].str.contains("ir=100"))].iloc[0]
    expected = stats.ttest_rel(ACSA["smote"], ACSA["none"])
    assert row["p t"] == pytest.approx(expected.pvalue) and row["t"] == pytest.approx(expected.statistic)
    assert row["p W"] == pytest.approx(stats.wilcoxon(ACSA["smote"], ACSA["none"]).pvalue)
    assert row["difference"] == pytest.approx(np.mean(ACSA["smote"]) - np.mean(ACSA["none"]))
    assert len(paired) == 4 and (paired["pairs"] == 3).all()
    assert paired["p t Holm"].to_numpy() == pytest.approx(holm(paired["p t"].to_numpy()))


def test_friedman_over_blocks_and_nemenyi_critical_difference(tmp_path):
    # three blocks (IR 10, 20, 30); per block the order of the methods is given, each fold the same
    orders = {10: {"none": 0.70, "random": 0.80, "smote": 0.90}, 20: {"none": 0.71, "random": 0.92, "smote": 0.81},
              30: {"none": 0.72, "random": 0.83, "smote": 0.93}}
    for ir, scores in orders.items():
        for method, score in scores.items():
            for fold in range(2):
                write_run(tmp_path, config(method, ir), fold, score + 0.001 * fold)
    _, sweep = sweep_of(tmp_path)
    outcome = rank_test(sweep, "acsa")
    test = outcome.test
    assert test is not None and test.scores.shape == (3, 3)
    assert test.scores.loc["data=mnist ir=20 classifier=mlp", "random"] == pytest.approx(0.9205)
    # ranks: smote 1,2,1 -> 4/3; random 2,1,2 -> 5/3; none 3,3,3 -> 3
    assert test.mean_ranks.to_dict() == pytest.approx({"smote": 4 / 3, "random": 5 / 3, "none": 3.0})
    chi2 = 12 * 3 / (3 * 4) * ((4 / 3) ** 2 + (5 / 3) ** 2 + 3 ** 2 - 3 * 4 ** 2 / 4)
    assert test.friedman.chi2 == pytest.approx(chi2)
    assert test.friedman.f == pytest.approx(2 * chi2 / (3 * 2 - chi2))
    # Demšar's table: q_0.05 = 2.343 for k = 3
    assert test.critical_difference == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 3)), abs=1e-3)
    assert nemenyi_critical_difference(4, 10) == pytest.approx(2.569 * math.sqrt(4 * 5 / 60), abs=1e-3)
    assert [(d.better, d.worse) for d in test.differences] == []  # 3 - 4/3 = 1.67 < CD 1.91
    # the diagram: every method labelled with its mean rank, one bar joining all three (no pair differs)
    figure = draw_cd(test)
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert {"smote (1.33)", "random (1.67)", "none (3.00)"} <= set(texts)
    assert cliques([4 / 3, 5 / 3, 3.0], test.critical_difference) == [Clique(0, 2)]
    assert cliques([1.0, 1.5, 3.0, 3.2], 1.0) == [Clique(0, 1), Clique(2, 3)]
    # with two blocks there is no test, and the reason is given
    two = build_sweep(read_runs(tmp_path, progress=False), None)
    two.runs = two.runs[two.runs["ir"] != 30]
    assert rank_test(two, "acsa").test is None and "found 2 block(s)" in rank_test(two, "acsa").notes[-1]


def test_incomplete_sweep_is_flagged_and_not_averaged_as_complete(tmp_path):
    for fold, v in enumerate([0.80, 0.82, 0.78]):
        write_run(tmp_path, config("none"), fold, v)
        write_run(tmp_path, config("random"), fold, v - 0.1)
    write_run(tmp_path, config("smote"), 0, 0.95)  # the best number, but smote lacks folds 1 and 2
    interrupted = write_run(tmp_path, config("smote"), 1, 0.99, done=False)
    runset, sweep = sweep_of(tmp_path)
    assert len(runset.records) == 7 and [u.run_dir for u in runset.unfinished] == [interrupted]
    completeness = assess(sweep, runset)
    missing = {(m.variant, m.replicate.fold): m for m in completeness.missing}
    assert set(missing) == {("smote", 1), ("smote", 2)}
    assert missing[("smote", 1)].state == DIRECTORY_WITHOUT_DONE and missing[("smote", 1)].run_id == interrupted.name
    assert missing[("smote", 2)].state == NO_DIRECTORY
    assert not completeness.complete and completeness.stray == []
    from imbench.records import mark_failed  # the same run, had it failed, says so with its error
    mark_failed(interrupted, {"job": {"method": "smote"}, "error": "the classifier diverged"})
    failed = {(m.variant, m.replicate.fold): m for m in assess(*reversed(sweep_of(tmp_path))).missing}
    assert failed[("smote", 1)].state == "failed: the classifier diverged"
    (interrupted / "failed.json").unlink()

    summary = summarize(sweep, completeness, ["acsa"], "none")
    smote = summary[summary["method"] == "smote"].iloc[0]
    assert (smote["n"], smote["n_expected"], bool(smote["complete"]), smote["missing"]) == (1, 3, False, "folds 1, 2")
    assert smote["acsa mean"] == pytest.approx(0.95)  # the interrupted run's 0.99 is not in it
    assert bool(summary[summary["method"] == "none"].iloc[0]["complete"])

    warnings: list[str] = []
    report = make_report(ReportOptions(out_dir=tmp_path, dest=tmp_path / "rep", metrics=["acsa"], progress=False),
                         warn=warnings.append)
    assert any("INCOMPLETE" in w for w in warnings)
    md = (tmp_path / "rep" / "summary.md").read_text()
    smote_line = next(line for line in md.splitlines() if "| smote" in line)
    assert "1 of 3 †" in smote_line and "0.950 †" in smote_line
    assert "INCOMPLETE" in md and interrupted.name in md
    tex = (tmp_path / "rep" / "summary.tex").read_text()
    assert r"\textbf{0.800" in tex and r"\textbf{0.950" not in tex  # incomplete cells are never bold
    html = report.html.read_text()
    assert "Incomplete sweep" in html and interrupted.name in html
    csv = pd.read_csv(tmp_path / "rep" / "missing_runs.csv")
    assert sorted(csv["fold"].dropna().astype(int)) == [1, 2]


def test_settings_differing_only_in_the_loss_stay_separate_rows(tmp_path):
    for fold, (ce, ls) in enumerate([(0.80, 0.90), (0.82, 0.92)]):
        write_run(tmp_path, config("none", 100, "mnist", "classifier.schedule.loss=ce"), fold, ce)
        write_run(tmp_path, config("none", 100, "mnist", "classifier.schedule.loss=ls"), fold, ls)
    runset, sweep = sweep_of(tmp_path)
    assert sweep.setting_keys == ["classifier.schedule.loss"]
    completeness = assess(sweep, runset)
    summary = summarize(sweep, completeness, ["acsa"], "none")
    assert len(summary) == 2
    by_loss = summary.set_index("classifier.schedule.loss")["acsa mean"]
    assert by_loss["ce"] == pytest.approx(0.81) and by_loss["ls"] == pytest.approx(0.91)
    md = to_markdown(summary_table(summary, sweep, ["acsa"]), ["Summary"])
    head = next(line for line in md.splitlines() if line.startswith("| data"))
    assert "classifier.schedule.loss" in head
    assert re.search(r"\|\s*ce\s*\|.*0\.810", md) and re.search(r"\|\s*ls\s*\|.*0\.910", md)
    # they are different blocks: each has its own reference, nothing is merged
    assert sorted(set(sweep.runs["block_label"])) == [
        "data=mnist ir=100 classifier=mlp classifier.schedule.loss=ce",
        "data=mnist ir=100 classifier=mlp classifier.schedule.loss=ls"]


def test_a_record_with_integer_keyed_settings_keeps_its_exact_identity(tmp_path):
    """DGC's ``lr_decay: {30: 0.5, ...}`` is hashed with integer keys but stored in JSON as text; read
    back, the setting must still be the runner's (one setting across draws made with different
    ``folds``), not the fallback that tells ``folds=1`` and ``folds=3`` runs apart."""
    from imbench.report.settings import run_id_of, setting_identity

    def composed_dgc(folds: int) -> dict:
        cfg = config("dgc", 100, "mnist", f"folds={folds}")  # read back from JSON: give the keys back
        cfg["method"]["lr_decay"] = {int(k): v for k, v in cfg["method"]["lr_decay"].items()}
        return cfg

    dirs = [write_run(tmp_path, composed_dgc(n), fold, 0.8) for n, fold in ((1, 0), (3, 1), (3, 2))]
    records = [json.loads((d / RESULT).read_text()) for d in dirs]
    assert all(isinstance(k, str) for k in records[0]["config"]["method"]["lr_decay"])
    settings = [setting_identity(r) for r in records]
    assert all(s.exact for s in settings)
    assert len({json.dumps(s.identity, sort_keys=True, default=str) for s in settings}) == 1
    assert run_id_of(settings[1].identity, 0, 1, 0) == dirs[1].name


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "poster", "data"):
                self.refs.append(value or "")
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        if tag in ("link", "script", "iframe", "object", "embed"):
            self.refs.append(f"<{tag}>")


def test_html_is_self_contained_with_embedded_images(complete_sweep, tmp_path):
    report = make_report(ReportOptions(out_dir=complete_sweep, dest=tmp_path, metrics=["acsa", "minority.recall"],
                                       progress=False), warn=lambda _: None)
    text = report.html.read_text()
    parser = _References()
    parser.feed(text)
    external = [r for r in parser.refs if not (r.startswith("data:") or r.startswith("#"))]
    assert external == [] and parser.refs
    assert not re.search(r"https?://|url\(|@import", text)
    pngs = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert any(p.startswith("synthetic_") for p in pngs) and len(parser.images) == len(pngs)
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_SIGNATURE
    assert report.completeness.complete and "Complete: every expected run" in text
    # provenance of the numbers: the runs' command, commit and host, and the CSVs' sidecars
    assert "python -m imbench -m method=smote ir=100" in text and "c0ffee" in text and "testbox" in text
    sidecar = json.loads((tmp_path / "summary.provenance.json").read_text())
    assert sidecar["finished_runs"] == 18 and sidecar["complete"] is True
    assert (tmp_path / "summary.md").read_text().startswith("# Sweep report")


def test_bad_inputs_name_the_problem_without_a_traceback(tmp_path, complete_sweep, capsys):
    code = report_main([str(complete_sweep), "--metrics", "acsa", "recal", "--dest", str(tmp_path / "r"),
                        "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown metric(s) recal" in err and "minority.recall" in err
    code = report_main([str(complete_sweep), "--reference", "smoteX", "--dest", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown --reference method 'smoteX'" in err and "none, random, smote" in err
    (tmp_path / "empty").mkdir()
    code = report_main([str(tmp_path / "empty"), "--no-progress"])
    assert code == 1 and "no finished run records under" in capsys.readouterr().err

    # a truncated result.json is named and skipped, the rest is reported
    corrupt = tmp_path / "corrupt"
    good = write_run(corrupt, config("none"), 0, 0.8)
    bad = write_run(corrupt, config("none"), 1, 0.8)
    (bad / RESULT).write_text((bad / RESULT).read_text()[:50])
    assert report_main([str(corrupt), "--metrics", "acsa", "--dest", str(tmp_path / "c"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"skipped {bad / RESULT}: not valid JSON" in err and "Traceback" not in err
    assert pd.read_csv(tmp_path / "c" / "runs.csv")["run_id"].tolist() == [good.name]
    missing = pd.read_csv(tmp_path / "c" / "missing_runs.csv")
    runs_missing = missing[missing["kind"] == "missing run"].set_index("fold")["state"]
    assert runs_missing.to_dict() == {1: UNREADABLE, 2: NO_DIRECTORY}  # three folds planned


def test_command_line_and_console_dispatch_exit_with_the_message_only(tmp_path):
    """``python -m imbench report`` (what the ``imbench report`` console script runs) and ``python -m
    imbench.report``, in a fresh interpreter."""
    for command in (["-m", "imbench", "report"], ["-m", "imbench.report"]):
        done = subprocess.run([sys.executable, *command, str(tmp_path / "missing")], cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert f"{tmp_path / 'missing'} is not a directory" in done.stderr

"""EGL Table 4 (data set statistics) is measured on the loaded data and checked against imblearn's numbers."""
from __future__ import annotations

import numpy as np
import pandas as pd

from imbench.data.tabular import TabularData
from imbench.errors import DataError
from imbench.tables import dataset_stats


def _fake(n_major: int, n_minor: int, n_features: int) -> TabularData:
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    return TabularData(X=np.zeros((len(y), n_features)), y=y, feature_names=[f"f{i}" for i in range(n_features)],
                       name="x", provenance="fake file", continuous=list(range(n_features)))


def test_rows_measure_the_loaded_data_and_compare_with_imblearn(monkeypatch, tmp_path):
    loaded = {"ecoli": _fake(301, 35, 7), "satimage": _fake(5809, 626, 35)}  # satimage: one feature short

    def load(name, root):
        if name not in loaded:
            raise DataError(f"no {name}")
        return loaded[name]

    monkeypatch.setattr(dataset_stats, "load_tabular_dataset", load)
    frame = dataset_stats.dataset_statistics(["ecoli", "satimage", "abalone", "keel:other"], str(tmp_path))
    ecoli = frame.iloc[0]
    assert (ecoli["features"], ecoli["samples"], ecoli["minority"], ecoli["ir"]) == (7, 336, 35, 8.6)
    assert bool(ecoli["matches_documented"]) and ecoli["source"] == "fake file"
    assert not frame.iloc[1]["matches_documented"]
    assert pd.isna(frame.iloc[2]["samples"]) and "x5data.npz" in frame.iloc[2]["source"]  # offline_status' reason
    assert frame.iloc[3]["source"] == "not loaded: no keel:other" and pd.isna(frame.iloc[3]["documented_samples"])


def test_command_writes_table_with_the_reasons(monkeypatch, tmp_path):
    monkeypatch.setattr(dataset_stats, "load_tabular_dataset",
                        lambda name, root: _fake(301, 35, 7) if name == "ecoli" else (_ for _ in ()).throw(
                            DataError("offline")))
    assert dataset_stats.main(["--sets", "ecoli,abalone", "--results-dir", str(tmp_path), "--data-root",
                               str(tmp_path)]) == 0
    text = (tmp_path / "dataset_stats.md").read_text()
    assert "| 1 | ecoli | 7 | 336 | 8.6:1 | 7, 336, 8.6:1 | yes |" in text
    assert "Measured on the loaded data: 1 of 2 sets" in text and "- abalone: not loaded" in text
    assert len(pd.read_csv(tmp_path / "dataset_stats.csv")) == 2

"""What a run measures about its synthetic samples, beside the classifier: FID per minority class
(Fajardo Tables 1-4) and a small preview of the images (Figs. 1-2).

Both are measured once per training set (fold) and copied into the record of every classifier repeat
of that fold. FID is a measurement, not part of a run's identity: a run finished with ``fid.enabled``
false keeps no FID (redo it with ``rerun=true``).
"""
from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

from imbench.errors import ConfigError, DataError


@lru_cache(maxsize=4)
def _extractor(weights: str | None, device: str, batch_size: int):
    from imbench.fid.extractor import InceptionExtractor

    return InceptionExtractor(weights_path=weights, device=device, batch_size=batch_size)


def check_fid_ready(fid_cfg: dict | None, device: str) -> None:
    """Fail before any training when FID is asked for but its weights are missing."""
    if not fid_cfg or not fid_cfg.get("enabled"):
        return
    try:
        _extractor(fid_cfg.get("weights"), device, int(fid_cfg.get("batch_size", 200)))
    except DataError as e:
        raise ConfigError(f"fid.enabled is true but the Inception weights are not available: {e} "
                          "(or run with fid.enabled=false)") from e


def measure_fid(fid_cfg: dict | None, dataset: str, X_res: np.ndarray, y_res: np.ndarray, synthetic: np.ndarray,
                X_real: np.ndarray, y_real: np.ndarray, minority: list[int], device: str, seed: int) -> dict | None:
    """FID between each minority class's synthetic images and that class's real (test) images."""
    if not fid_cfg or not fid_cfg.get("enabled") or not synthetic.any() or X_res.ndim < 3:
        return None
    from imbench.fid.per_class import fid_per_class

    t0 = time.perf_counter()
    extractor = _extractor(fid_cfg.get("weights"), device, int(fid_cfg.get("batch_size", 200)))
    Xg, yg = X_res[synthetic], y_res[synthetic]
    classes = [c for c in minority if np.any(yg == c)]
    result = fid_per_class(extractor, Xg, yg, X_real, y_real, classes, max_images=fid_cfg.get("max_per_class"),
                           seed=seed, dataset=dataset, split="test")
    return {
        "per_class": {int(c): float(v) for c, v in result.items()},
        "n_generated": {int(c): int(n) for c, n in result.n_generated.items()},
        "n_real": {int(c): int(n) for c, n in result.n_real.items()},
        "reference": "official test images of the same class",
        "extractor": result.extractor_id,
        "max_per_class": fid_cfg.get("max_per_class"),
        "seconds": time.perf_counter() - t0,
    }

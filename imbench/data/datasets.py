"""One entry point for every dataset kind: images (torchvision layout) and tabular sets."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from imbench.errors import ConfigError


@dataclass
class Dataset:
    """A loaded dataset. Images are float32 in [0, 1], N×C×H×W; tabular features are float32.

    Image sets carry their official test split; tabular sets are one pool (``X_test`` is None).
    """

    name: str
    kind: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    provenance: str = ""
    continuous: list[int] = field(default_factory=list)

    @property
    def classes(self) -> list[int]:
        ys = [self.y_train] + ([self.y_test] if self.y_test is not None else [])
        return sorted(np.unique(np.concatenate(ys)).tolist())


def resolve_root(root: str | None) -> Path:
    from imbench.data.images import default_data_root

    return Path(root).expanduser() if root else default_data_root()


@lru_cache(maxsize=4)
def _load_image(name: str, root: str, verify: bool = True) -> Dataset:
    from imbench.data.images import load_image_dataset

    Xtr, ytr = load_image_dataset(name, root, "train", verify=verify)
    Xte, yte = load_image_dataset(name, root, "test", verify=verify)
    to_float = lambda a: (a.astype(np.float32) / np.float32(255.0))  # noqa: E731
    checked = "" if verify else " (files NOT checked against the published md5: data.verify=false)"
    return Dataset(name, "image", to_float(Xtr), ytr.astype(np.int64), to_float(Xte), yte.astype(np.int64),
                   provenance=f"{name} official train/test from {root}{checked}")


@lru_cache(maxsize=4)
def _load_tabular(name: str, root: str, allow_network: bool) -> Dataset:
    from imbench.data.tabular import load_tabular_dataset

    t = load_tabular_dataset(name, root, allow_network=allow_network)
    return Dataset(name, "tabular", np.asarray(t.X, dtype=np.float32), np.asarray(t.y, dtype=np.int64),
                   provenance=t.provenance, continuous=list(t.continuous))


def load_dataset(data_cfg: dict) -> Dataset:
    """Load the dataset a ``data`` config names (``kind`` image or tabular, ``dataset`` its name).

    An image config may add ``verify: false`` (``+data.verify=false``) to read files in the dataset's
    format whose md5 is not the published one (a user's own conversion, the tests' generated files); the
    key then is part of the runs' identity and the record's data provenance says so."""
    kind = data_cfg.get("kind")
    root = str(resolve_root(data_cfg.get("root")))
    if kind == "image":
        verify = data_cfg.get("verify", True)
        if not isinstance(verify, bool):
            raise ConfigError(f"data.verify must be true or false, got {verify!r}")
        return _load_image(data_cfg["dataset"], root, verify)
    if kind == "tabular":
        return _load_tabular(data_cfg["dataset"], root, bool(data_cfg.get("allow_network", False)))
    raise ConfigError(f"data.kind must be 'image' or 'tabular', got {kind!r}")

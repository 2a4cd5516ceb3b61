"""Fréchet distance between two Gaussians, and the Gaussian statistics of a feature matrix.

FID = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})   (Heusel et al. 2017; spec §1.6).

Two ways to get Tr (Σ₁ Σ₂)^{1/2} from the statistics are offered (``DEFAULT_METHOD = "eigh"``):

``method="sqrtm"``
    The reference computation of TTUR / pytorch-fid: ``scipy.linalg.sqrtm(Σ₁ Σ₂)``. When the product is
    near-singular (the result is not finite) it is retried on (Σ₁ + εI)(Σ₂ + εI); a complex result is
    accepted only when the imaginary part of its diagonal is negligible (|Im| ≤ ``imag_atol``), else the
    value falls back to the ``"eigh"`` computation with a warning. About 10–20 s for d = 2048 on one core.
``method="eigh"`` (default)
    Tr (Σ₁ Σ₂)^{1/2} = Σᵢ √λᵢ with λ the eigenvalues of the symmetric PSD matrix Σ₁^{1/2} Σ₂ Σ₁^{1/2}
    (similar to Σ₁ Σ₂), obtained with two symmetric eigen-decompositions (negative round-off eigenvalues
    clipped to 0). Exact for PSD inputs, never complex, several times faster (≈ 3 s for d = 2048 on one
    core); it agrees with ``"sqrtm"`` to about 1e-6 relative on Inception features. Eigenvalues at the
    round-off level are treated as 0, so singular covariances lose no accuracy: the FID of 80 MNIST
    Inception feature vectors with themselves is ~1e-13 here and −3.6e-5 with ``"sqrtm"``.

It is the default because it is more accurate on the rank-deficient covariances of per-class FID and
~4× faster (thousands of FIDs per table); pass ``method="sqrtm"`` for pytorch-fid's exact procedure
(the two differ far below the reported precision).

Singular covariances (fewer samples than feature dimensions, the usual case for per-class FID on
CPU-sized samples) are handled by both methods.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

METHODS = ("sqrtm", "eigh")
DEFAULT_METHOD = "eigh"


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64) of a feature matrix.

    Parameters
    ----------
    features : array-like, shape (N, D)
        One row per image. N ≥ 2.

    Returns
    -------
    mu : numpy.ndarray, shape (D,)
    sigma : numpy.ndarray, shape (D, D)
        Unbiased sample covariance (``np.cov(features, rowvar=False)``, divisor N − 1), as in TTUR and
        pytorch-fid.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be 2-D (N, D), got shape {f.shape}")
    if f.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {f.shape[0]}")
    if not np.isfinite(f).all():
        raise ValueError("features contain NaN or inf")
    mu = f.mean(axis=0)
    sigma = np.cov(f, rowvar=False)
    return mu, np.atleast_2d(sigma)


def _check(mu1, sigma1, mu2, sigma2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,):
        raise ValueError(f"mean vectors have different or non-vector shapes: {mu1.shape}, {mu2.shape}")
    if sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"covariances must be ({d}, {d}), got {sigma1.shape} and {sigma2.shape}")
    for name, a in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or inf")
    return mu1, sigma1, mu2, sigma2


def psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root of a covariance via ``eigh`` (negative round-off eigenvalues → 0)."""
    s = np.asarray(sigma, dtype=np.float64)
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(_clip_noise(w))) @ v.T


def _clip_noise(ev: np.ndarray) -> np.ndarray:
    """Eigenvalues of a PSD matrix with round-off noise (|λ| ≤ D·ε·λ_max, incl. negatives) set to 0.

    Their square roots would otherwise add up to √(D·ε·λ_max) each, the dominant error for singular
    covariances; genuine eigenvalues that small contribute no more than that bound.
    """
    if ev.size == 0:
        return ev
    tol = ev.size * np.finfo(np.float64).eps * max(float(np.max(np.abs(ev))), 0.0)
    return np.where(ev > tol, ev, 0.0)


def trace_sqrt_product_eigh(sigma1: np.ndarray, sigma2: np.ndarray, *,
                            sqrt_sigma1: np.ndarray | None = None) -> float:
    """Tr (Σ₁ Σ₂)^{1/2} as Σ √eig(Σ₁^{1/2} Σ₂ Σ₁^{1/2}); pass a precomputed ``sqrt_sigma1`` to reuse it."""
    r = psd_sqrt(sigma1) if sqrt_sigma1 is None else sqrt_sigma1
    m = r @ sigma2 @ r
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(_clip_noise(ev)).sum())


def _sqrtm(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # "Matrix is singular and may not have a square root": handled by the finiteness check below.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        out = scipy.linalg.sqrtm(a)
    return out[0] if isinstance(out, tuple) else out


def trace_sqrt_product_sqrtm(sigma1: np.ndarray, sigma2: np.ndarray, *, eps: float = 1e-6,
                             imag_atol: float = 1e-3) -> float:
    """Tr (Σ₁ Σ₂)^{1/2} via ``scipy.linalg.sqrtm`` with the TTUR / pytorch-fid safeguards (module doc)."""
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.isfinite(covmean).all() and np.iscomplexobj(covmean):
        imag = float(np.max(np.abs(np.diagonal(covmean).imag))) if covmean.size else 0.0
        if imag > imag_atol:
            covmean = None
            why = f"imaginary component {imag:.3g} > {imag_atol:g}"
        else:
            covmean = covmean.real
    elif not np.isfinite(covmean).all():
        covmean, why = None, "non-finite result even with the eps offset"
    if covmean is None:
        warnings.warn(f"scipy.linalg.sqrtm(sigma1 @ sigma2) unreliable ({why}); "
                      f"using the eigh-based trace instead", RuntimeWarning, stacklevel=3)
        return trace_sqrt_product_eigh(sigma1, sigma2)
    return float(np.trace(covmean))


def frechet_distance(mu1, sigma1, mu2, sigma2, *, method: str = DEFAULT_METHOD, eps: float = 1e-6,
                     imag_atol: float = 1e-3, sqrt_sigma1: np.ndarray | None = None) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Parameters
    ----------
    mu1, mu2 : array-like, shape (D,)
    sigma1, sigma2 : array-like, shape (D, D)
        Symmetric positive semi-definite (e.g. from :func:`feature_stats`); singular is fine.
    method : {"eigh", "sqrtm"}
        How Tr (Σ₁ Σ₂)^{1/2} is computed (module docstring).
    eps : float
        Diagonal offset for the ``"sqrtm"`` retry when the product is near-singular.
    imag_atol : float
        Largest |imaginary part| of the diagonal of ``sqrtm``'s result that is discarded as round-off.
    sqrt_sigma1 : array, optional
        ``psd_sqrt(sigma1)``, precomputed (``"eigh"`` only), e.g. for a real set scored many times.

    Returns
    -------
    float
        The distance (≥ 0 up to round-off; tiny negative values from round-off are returned as is).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    mu1, sigma1, mu2, sigma2 = _check(mu1, sigma1, mu2, sigma2)
    diff = mu1 - mu2
    if method == "sqrtm":
        tr_covmean = trace_sqrt_product_sqrtm(sigma1, sigma2, eps=eps, imag_atol=imag_atol)
    else:
        tr_covmean = trace_sqrt_product_eigh(sigma1, sigma2, sqrt_sigma1=sqrt_sigma1)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def trace_sqrt_product_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """Tr (Σ₁ Σ₂)^{1/2} straight from two feature matrices, as the nuclear norm of A₁ᵀA₂.

    With Aᵢ = (Xᵢ − μᵢ)ᵀ / √(nᵢ − 1) (so Σᵢ = AᵢAᵢᵀ), the non-zero eigenvalues of Σ₁Σ₂ are those of
    (A₁ᵀA₂)(A₁ᵀA₂)ᵀ, so Tr (Σ₁Σ₂)^{1/2} is the sum of the singular values of the n₁×n₂ matrix A₁ᵀA₂.
    Exact, and cheap when n₁, n₂ ≪ D (e.g. a few hundred images against D = 2048).
    """
    f1 = np.asarray(features1, dtype=np.float64)
    f2 = np.asarray(features2, dtype=np.float64)
    a1 = (f1 - f1.mean(axis=0)) / np.sqrt(len(f1) - 1)
    a2 = (f2 - f2.mean(axis=0)) / np.sqrt(len(f2) - 1)
    return float(np.linalg.svd(a1 @ a2.T, compute_uv=False).sum())


def fid_from_features(features1: np.ndarray, features2: np.ndarray, *, method: str = DEFAULT_METHOD) -> float:
    """FID between two feature matrices (rows = images).

    ``method`` is one of ``METHODS`` or ``"nuclear"`` (:func:`trace_sqrt_product_features`: needs the
    features, fastest for small samples).
    """
    mu1, sigma1 = feature_stats(features1)
    mu2, sigma2 = feature_stats(features2)
    if method != "nuclear":
        return frechet_distance(mu1, sigma1, mu2, sigma2, method=method)
    _check(mu1, sigma1, mu2, sigma2)
    diff = mu1 - mu2
    tr = trace_sqrt_product_features(features1, features2)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr)

"""InfoGAN (PyTorch-GAN, the §3.4 baseline) and IMSIC (He et al. 2021, the Bayesian-regularised
InfoGAN of §3.1/§3.2) as oversamplers.

Both train the 32×32 networks of :mod:`~imbench.methods.generative.infogan_nets` without labels: the
class identity of a generated image comes from InfoGAN's unsupervised categorical code. The released
IMSIC code maps code indices to classes by hand; here (method-specs §3.2 [R]) the mapping is found
automatically after training by :func:`match_codes`: images generated from every code index are
classified by a classifier trained on the real (skewed) training set and the code→class assignment
that maximises agreement is solved with the Hungarian algorithm. The mapping, its matching accuracy and
the code×class count matrix are kept in ``fit_info()["matching"]``.

Images: the samplers take images in [0, 1] of any size; the networks work on ``img_size``×``img_size``
(32) in [−1, 1] as the released code does (``Resize(32)``, ``Normalize(0.5, 0.5)``). Training images
are resized bilinearly (``F.interpolate``, ``align_corners=False``, like torchvision's bilinear
``Resize``) and generated images are resized back to the input's H×W (bilinear, antialiased), so the
downstream classifier gets images of the training set's shape.
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval, StrOptions
from torch.nn import functional as F

from imbench.errors import ConfigError
from imbench.methods.generative.base import GenerativeOversampler, _Prepared
from imbench.methods.generative.infogan_nets import IMG_SIZE, LATENT_DIM, InfoGANDiscriminator, InfoGANGenerator
from imbench.methods.generative.stepped import Lanes, SteppedGenerator, params_named

REDUCTIONS = ("batch_mean", "per_sample")
MODES = ("paper", "code")


# ----- class identity: Hungarian matching of code indices to classes ------------------------------
def match_codes(generate: Callable[[int, int], Any], classify: Callable[[Any], np.ndarray], n_codes: int,
                n_classes: int, n_per_code: int) -> dict:
    """Assign one categorical code index to every class.

    ``generate(k, n)`` makes ``n`` images from code index ``k``; ``classify(images)`` returns their
    predicted class indices (0..n_classes-1). The assignment maximises the number of generated images
    classified as their code's class (``scipy.optimize.linear_sum_assignment`` on the negated count
    matrix); with more codes than classes the spare codes stay unmatched.

    Returns ``class_to_code`` (class index → code index), ``accuracy`` (share of the matched codes'
    images classified as their matched class), ``per_class_agreement``, ``counts`` (code × class
    matrix of predictions), ``purity`` (mean over codes of the largest share of one class: how
    class-pure the codes are whatever the assignment) and ``unmatched_codes``.
    """
    if n_codes < n_classes:
        raise ConfigError(f"cannot match {n_classes} classes to {n_codes} categorical codes; "
                          "n_categories must be at least the number of classes")
    counts = np.zeros((n_codes, n_classes), dtype=np.int64)
    for k in range(n_codes):
        pred = np.asarray(classify(generate(k, n_per_code))).astype(np.int64)
        counts[k] = np.bincount(pred, minlength=n_classes)[:n_classes]
    rows, cols = linear_sum_assignment(-counts)
    class_to_code = {int(c): int(k) for k, c in zip(rows, cols)}
    agreement = {c: float(counts[k, c] / n_per_code) for c, k in sorted(class_to_code.items())}
    return {"class_to_code": dict(sorted(class_to_code.items())),
            "accuracy": float(counts[rows, cols].sum() / (n_per_code * len(rows))),
            "per_class_agreement": agreement, "counts": counts.tolist(),
            "purity": float((counts.max(1) / n_per_code).mean()),
            "unmatched_codes": sorted(set(range(n_codes)) - set(int(k) for k in rows)),
            "images_per_code": int(n_per_code)}


# ----- IMSIC's structure regulariser (Eq. 6) and the released variant ------------------------------
def default_structure(code_dim: int) -> dict[int, list[int]]:
    """The released code's structure generalised to ``code_dim`` codes: c′_i ← c_i for i < d−1, and the
    last latent code entangled with every observed code (Fig. 4c type; for d = 4 exactly
    ``utils.get_structure_loss``'s positive edges)."""
    if code_dim == 1:
        return {0: [0]}
    return {**{i: [i] for i in range(code_dim - 1)}, code_dim - 1: list(range(code_dim))}


def normalise_structure(structure: Mapping | None, code_dim: int, method: str) -> dict[int, list[int]]:
    """``structure`` (latent code index → list of parent observed-code indices, keys may be strings of
    digits as YAML/CLI give them) checked against ``code_dim``; None gives :func:`default_structure`."""
    if structure is None:
        return default_structure(code_dim)
    if not isinstance(structure, Mapping):
        raise ConfigError(f"{method}: structure must map each latent code index to a list of parent code "
                          f"indices, e.g. {{0: [0], 1: [1]}}; got {structure!r}")

    def index(value: Any, what: str) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise ConfigError(f"{method}: structure {what} must be an integer code index, got {value!r}")
        if not 0 <= int(value) < code_dim:
            raise ConfigError(f"{method}: structure names {what} {value}, but code_dim is {code_dim} "
                              f"(codes 0..{code_dim - 1}); fix the structure or raise code_dim")
        return int(value)

    out: dict[int, list[int]] = {}
    for key, parents in structure.items():
        i = index(key, "latent code")
        if isinstance(parents, (str, bytes)) or not isinstance(parents, Sequence):
            raise ConfigError(f"{method}: the parents of latent code {i} must be a list of code indices, "
                              f"got {parents!r}")
        ps = [index(p, f"parent of latent code {i}:") for p in parents]
        if len(set(ps)) != len(ps):
            raise ConfigError(f"{method}: latent code {i} lists a parent twice: {list(parents)}")
        out[i] = sorted(ps)
    missing = sorted(set(range(code_dim)) - set(out))
    if missing:
        raise ConfigError(f"{method}: structure must give a parent list (possibly empty) for every latent "
                          f"code 0..{code_dim - 1}; missing {missing}")
    return dict(sorted(out.items()))


def parent_mask(structure: Mapping[int, Sequence[int]], code_dim: int, device=None) -> torch.Tensor:
    """d×d 0/1 matrix: ``[i, j] = 1`` when observed code c_j is a parent of latent code c′_i."""
    mask = torch.zeros(code_dim, code_dim, device=device)
    for i, parents in structure.items():
        for j in parents:
            mask[i, j] = 1.0
    return mask


def pairwise_mse(pred: torch.Tensor, code: torch.Tensor, reduction: str) -> torch.Tensor:
    """d×d matrix ``[i, j] = ℓ(c′_i, c_j)``: on batch means, (E c′_i − E c_j)² (Eq. 6 as written), or
    per sample, mean_b (c′_bi − c_bj)² (``F.mse_loss`` of two columns, as the released code)."""
    pred, code = pred.float(), code.float()
    if reduction == "batch_mean":
        return (pred.mean(0)[:, None] - code.mean(0)[None, :]) ** 2
    if reduction == "per_sample":
        return ((pred[:, :, None] - code[:, None, :]) ** 2).mean(0)
    raise ConfigError(f"unknown structure-loss reduction {reduction!r}; use one of {list(REDUCTIONS)}")


def independence_cap(code_variance: float, reduction: str, batch_size: int) -> float:
    """Expected ℓ(c′_i, c_j) of two independent codes of variance ``code_variance`` and equal mean:
    2σ² per sample, 2σ²/B between batch means of ``batch_size`` samples."""
    if reduction == "per_sample":
        return 2.0 * code_variance
    if reduction == "batch_mean":
        return 2.0 * code_variance / batch_size
    raise ConfigError(f"unknown structure-loss reduction {reduction!r}; use one of {list(REDUCTIONS)}")


def structure_loss(pred: torch.Tensor, code: torch.Tensor, mask: torch.Tensor, reduction: str,
                   mode: str = "paper", nonparent_cap: float | None = None) -> torch.Tensor:
    """IMSIC's structure term for predicted codes ``pred`` (B×d, D's latent head) and the codes
    ``code`` (B×d) G was given; ``mask`` from :func:`parent_mask`.

    * ``mode="paper"`` (Eq. 6): Σ_parents ℓ(c′_i, c_j) − Σ_non-parents min(ℓ(c′_i, c_j), cap), summed
      over i. As written (``nonparent_cap=None``) the subtracted term has no upper limit, so the loss is
      unbounded below: D's code head lowers it without end by pushing c′ away from its non-parents
      (measured: 0.39 → −641 in 160 iterations). With a cap (:func:`independence_cap`) a non-parent pair
      stops paying once it is as far apart as two independent codes are on average, and gives no
      gradient beyond.
    * ``mode="code"`` (``utils.get_structure_loss``): S = Σpos − Σneg − Σ_{j ≥ i} ℓ(c′_i, c_j) (the
      "gains2" terms, diagonal included) when positive, else 0 with no gradient. For any
      non-degenerate prediction the subtracted terms outweigh Σpos, so S is 0 (method-specs §3.2
      Finding, §9.1).
    """
    pair = pairwise_mse(pred, code, reduction)
    pos = (pair * mask).sum()
    if mode == "paper":
        capped = pair if nonparent_cap is None else pair.clamp_max(float(nonparent_cap))
        return pos - (capped * (1 - mask)).sum()
    neg = (pair * (1 - mask)).sum()
    if mode == "code":
        gains2 = torch.triu(pair).sum()
        return (pos - neg - gains2).clamp_min(0.0)
    raise ConfigError(f"unknown structure-loss mode {mode!r}; use one of {list(MODES)}")


def _towards_one(validity: torch.Tensor) -> torch.Tensor:
    """G's least-squares loss: MSE(D_adv(G(...)), 1)."""
    return F.mse_loss(validity, torch.ones_like(validity))


def _real_and_fake(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """D's least-squares loss: ½[MSE(D_adv(x), 1) + MSE(D_adv(G(...)), 0)]."""
    return 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake)))


# ----- the samplers ----------------------------------------------------------------------------------
class InfoGANSampler(SteppedGenerator):
    """InfoGAN oversampler, the IMSIC paper's InfoGAN baseline (method-specs §3.4 [R]).

    PyTorch-GAN's InfoGAN (networks: :mod:`~imbench.methods.generative.infogan_nets`) is trained on
    the skewed training images, without labels. Per mini-batch (size 64, shuffled, last partial batch
    dropped):

    1. G step: least-squares loss MSE(D_adv(G(z, cat, c)), 1) over G;
    2. D step: ½[MSE(D_adv(x), 1) + MSE(D_adv(G(...)), 0)] over D (same fakes, detached);
    3. info step over G **and** D with fresh z, cat, c: λ_cat·CE(aux(G(...)), cat) + λ_con·MSE(latent(G(...)), c).

    z ~ N(0, I)^62, cat uniform over ``n_categories`` one-hot codes, c ~ U(−1, 1)^code_dim (in all
    three steps; PyTorch-GAN draws the info step's c from N(−1, 1), a quirk not kept, §3.4). Adam
    (2e-4, β (0.5, 0.999)) for G, D and the info step. After training, code indices are matched to
    classes (:func:`match_codes`) and each class is topped up per ``sampling_strategy`` with
    G(z, onehot(code of the class), c), z ~ N(0, I), c ~ U(−1, 1).

    Parameters
    ----------
    sampling_strategy : str, float, dict or callable, default="auto"
        imbalanced-learn over-sampling strategy; "auto" balances (every class up to the majority).
    epochs : int, default=500
        Training epochs (IMSIC's 500, used for the baseline too "for fairness"); profiles cap it.
    batch_size : int, default=64
    latent_dim : int, default=62
        Dimension of z.
    code_dim : int, default=2
        Continuous codes (PyTorch-GAN's InfoGAN: 2).
    n_categories : int or None, default=None
        Size of the categorical code; None: the number of classes (10 in the released code).
    lambda_cat, lambda_con : float, default=1.0, 0.1
        Weights of the categorical and continuous information terms.
    lr, beta1, beta2 : float, default=2e-4, 0.5, 0.999
        Adam settings of all three optimisers.
    img_size : int, default=32
        Side of the square images the networks work on (a multiple of 16).
    match_samples : int, default=100
        Images generated per code index for the code→class matching.
    random_oversample_first, device, random_state, verbose, image_shape, max_batches_per_epoch
        As in :class:`~imbench.methods.generative.base.GenerativeOversampler`.

    Attributes
    ----------
    generator_, discriminator_ : the trained networks (eval mode).
    matching_ : dict
        The result of :func:`match_codes`, with class labels as keys (also in ``fit_info()``).
    class_to_code_ : list of int
        Code index used for each class index.
    history_ : list of dict
        Mean G, D and info losses per epoch.

    Notes
    -----
    Matching classifier: multinomial logistic regression (scikit-learn ``LogisticRegression``,
    lbfgs, ``class_weight="balanced"``, max 500 iterations) on the real training images at
    ``img_size`` in [−1, 1], 2×2 average-pooled (16×16 = 256 features for 32×32). A non-finite loss
    raises TrainingError naming the method, epoch and seed; a loss that blows up is caught by the
    base class's divergence watch.

    References
    ----------
    Chen, X. et al. "InfoGAN: interpretable representation learning by information maximizing
    generative adversarial nets." NeurIPS 2016. Linder-Norén, E. PyTorch-GAN (implementations/infogan).

    He, X. et al. (2021), the IMSIC paper (Bayesian-regularised GAN for imbalanced image
    classification), which uses InfoGAN as a baseline.

    Examples
    --------
    >>> X_res, y_res = InfoGANSampler(epochs=2, device="cpu", random_state=0).fit_resample(X, y)  # doctest: +SKIP
    """

    method_name = "InfoGAN"
    value_range = (-1.0, 1.0)
    loss_names = ("g", "d", "info")
    cuda_graphs = False  # the steps run eagerly (capture into a CUDA graph is not tried for these networks)
    vmap_randomness = "different"  # D's Dropout2d: in a group every member draws its own masks
    keeps_training_set = True  # the code matching fits its classifier on the real training set

    _parameter_constraints: dict = {
        **GenerativeOversampler._parameter_constraints,
        "batch_size": [Interval(Integral, 2, None, closed="left")],  # batch normalisation needs 2
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "code_dim": [Interval(Integral, 1, None, closed="left")],
        "n_categories": [Interval(Integral, 1, None, closed="left"), None],
        "lambda_cat": [Interval(Real, 0, None, closed="left")],
        "lambda_con": [Interval(Real, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "beta1": [Interval(Real, 0, 1, closed="left")],
        "beta2": [Interval(Real, 0, 1, closed="left")],
        "img_size": [Interval(Integral, 16, None, closed="left")],
        "match_samples": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, sampling_strategy: Any = "auto", epochs: int = 500, batch_size: int = 64,
                 latent_dim: int = LATENT_DIM, code_dim: int = 2, n_categories: int | None = None,
                 lambda_cat: float = 1.0, lambda_con: float = 0.1, lr: float = 2e-4, beta1: float = 0.5,
                 beta2: float = 0.999, img_size: int = IMG_SIZE, match_samples: int = 100,
                 random_oversample_first: bool = False, device: str = "auto", random_state: int | None = None,
                 verbose: bool = False, image_shape: tuple[int, ...] | None = None,
                 max_batches_per_epoch: int | None = None) -> None:
        super().__init__(sampling_strategy=sampling_strategy, epochs=epochs, batch_size=batch_size,
                         random_oversample_first=random_oversample_first, device=device,
                         random_state=random_state, verbose=verbose, image_shape=image_shape,
                         max_batches_per_epoch=max_batches_per_epoch)
        self.latent_dim = latent_dim
        self.code_dim = code_dim
        self.n_categories = n_categories
        self.lambda_cat = lambda_cat
        self.lambda_con = lambda_con
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.img_size = img_size
        self.match_samples = match_samples

    # ----- settings -----------------------------------------------------------------------------
    def _validated(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        X, y = super()._validated(X, y)
        if int(self.img_size) % 16:
            raise ConfigError(f"{self.method_name}: img_size must be a multiple of 16 (the discriminator halves "
                              f"it four times), got {self.img_size}")
        n_classes = len(np.unique(y))
        if self.n_categories is not None and int(self.n_categories) < n_classes:
            raise ConfigError(f"{self.method_name}: n_categories={self.n_categories} is smaller than the number "
                              f"of classes ({n_classes}); every class needs its own categorical code")
        self._check_settings()
        return X, y

    def _check_settings(self) -> None:
        """Subclass hook: settings checked at fit beyond the parameter constraints."""

    # ----- priors and losses (IMSIC overrides them) ---------------------------------------------
    def _train_latents(self, rows: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, c) for a training step, ``rows`` of them (``(B,)``, or ``(members, B)`` in a group), from
        the device's seeded global RNG."""
        dev = self.device_
        return (torch.randn(*rows, int(self.latent_dim), device=dev),
                torch.rand(*rows, int(self.code_dim), device=dev).mul_(2).sub_(1))

    def _train_categories(self, rows: tuple[int, ...]) -> torch.Tensor:
        """Categorical code indices for a training step, uniform, from the device's global RNG."""
        return torch.randint(self.n_categories_, rows, device=self.device_)

    def _sample_latents(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, c) for synthesis, from the CPU generator ``gen``."""
        z = torch.randn(n, int(self.latent_dim), generator=gen)
        c = torch.rand(n, int(self.code_dim), generator=gen).mul_(2).sub_(1)
        return z.to(self.device_), c.to(self.device_)

    def _continuous_loss(self, pred: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(pred.float(), code.float())

    def _amounts(self, prep: _Prepared) -> dict:
        """Class label → number of images to synthesise."""
        return prep.to_make

    # ----- image size -----------------------------------------------------------------------------
    def _to_net(self, X: torch.Tensor) -> torch.Tensor:
        s = int(self.img_size)
        if tuple(X.shape[2:]) == (s, s):
            return X
        return F.interpolate(X, size=(s, s), mode="bilinear", align_corners=False)

    def _from_net(self, imgs: torch.Tensor) -> torch.Tensor:
        if tuple(imgs.shape[2:]) == self.input_hw_:
            return imgs
        return F.interpolate(imgs, size=self.input_hw_, mode="bilinear", align_corners=False, antialias=True)

    # ----- training (one step per mini-batch: imbench.methods.generative.stepped) ----------------------
    def _training_images(self, X: torch.Tensor) -> torch.Tensor:
        self.input_hw_ = tuple(int(s) for s in X.shape[2:])
        self.net_channels_ = int(X.shape[1])
        return self._to_net(X)

    def _setup(self, n_classes: int) -> None:
        self.n_classes_ = n_classes
        self.n_categories_ = int(self.n_categories or n_classes)
        self.category_eye_ = torch.eye(self.n_categories_, device=self.device_)

    def _networks(self, n_classes: int) -> dict[str, torch.nn.Module]:
        k, d, dev = self.n_categories_, int(self.code_dim), self.device_
        return {"G": InfoGANGenerator(int(self.latent_dim), k, d, self.net_channels_, int(self.img_size)).to(dev),
                "D": InfoGANDiscriminator(k, d, self.net_channels_, int(self.img_size)).to(dev)}

    def _optimizers(self, nets: dict, capturable: bool) -> dict[str, torch.optim.Optimizer]:
        kw = dict(lr=float(self.lr), betas=(float(self.beta1), float(self.beta2)))
        g, d = params_named(nets["G"]), params_named(nets["D"])
        return {"g": torch.optim.Adam(g, **kw), "d": torch.optim.Adam(d, **kw), "info": torch.optim.Adam(g + d, **kw)}

    def _step(self, lanes: Lanes, nets: dict, opts: dict, X: torch.Tensor, y: torch.Tensor, eye: torch.Tensor,
              idx: torch.Tensor, sums: torch.Tensor) -> None:
        """One mini-batch: the G, D and info steps of the class docstring (``y`` and ``eye`` unused: the
        categorical code is unsupervised)."""
        G, D = nets["G"], nets["D"]
        rows = lanes.shape(idx.shape[-1])
        real = lanes.take(X, idx)
        lam_cat, lam_con = float(self.lambda_cat), float(self.lambda_con)
        # 1. G step (least squares)
        z, c = self._train_latents(rows)
        fake = G(z, self.category_eye_[self._train_categories(rows)], c)
        g_loss = lanes.per_member(_towards_one, D(fake)[0].float())
        opts["g"].zero_grad(set_to_none=True)
        g_loss.sum().backward(inputs=params_named(G))
        opts["g"].step()
        # 2. D step on the same fakes
        d_loss = lanes.per_member(_real_and_fake, D(real)[0].float(), D(fake.detach())[0].float())
        opts["d"].zero_grad(set_to_none=True)
        d_loss.sum().backward()
        opts["d"].step()
        # 3. info step over G and D, fresh latents
        labels = self._train_categories(rows)
        z, c = self._train_latents(rows)
        _, pred_cat, pred_code = D(G(z, self.category_eye_[labels], c))

        def info(cat_logits: torch.Tensor, cat: torch.Tensor, pred: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
            # PyTorch-GAN: CrossEntropyLoss on the softmax head's probabilities (double softmax)
            return lam_cat * F.cross_entropy(cat_logits, cat) + lam_con * self._continuous_loss(pred, code)

        info_loss = lanes.per_member(info, pred_cat.float(), labels, pred_code, c)
        opts["info"].zero_grad(set_to_none=True)
        info_loss.sum().backward()
        opts["info"].step()
        sums.add_(torch.stack([g_loss.detach(), d_loss.detach(), info_loss.detach().float()], -1))

    def _adopt(self, nets: dict[str, torch.nn.Module]) -> None:
        self.generator_, self.discriminator_ = nets["G"], nets["D"]

    # ----- class identity and synthesis -----------------------------------------------------------
    @torch.no_grad()
    def _complete(self, prep: _Prepared) -> tuple[np.ndarray, np.ndarray]:
        self.generator_.eval()
        self.matching_ = self._match(prep)
        prep.to_make = dict(self._amounts(prep))
        self.synthesised_ = {str(c): int(n) for c, n in prep.to_make.items()}
        return super()._complete(prep)

    @staticmethod
    def _match_features(x: torch.Tensor) -> np.ndarray:
        return F.avg_pool2d(x.float(), 2).flatten(1).cpu().numpy()

    def _match(self, prep: _Prepared) -> dict:
        """Fit the matching classifier on the real training set, then :func:`match_codes`."""
        feats = np.concatenate([self._match_features(self._to_net(prep.train_x[s:s + 4096]))
                                for s in range(0, len(prep.train_x), 4096)])
        labels = prep.train_y.cpu().numpy()
        clf = LogisticRegression(max_iter=500, class_weight="balanced", random_state=self.seed_ % (2 ** 32))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(feats, labels)
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        train_acc = float((clf.predict(feats) == labels).mean())

        def generate(code: int, n: int) -> torch.Tensor:
            return self._generate_code(code, n, prep.gen)

        def classify(imgs: torch.Tensor) -> np.ndarray:
            # classes present in training are 0..K-1 (LogisticRegression.classes_ are those indices)
            return clf.classes_[clf.predict_proba(self._match_features(imgs)).argmax(1)]

        result = match_codes(generate, classify, self.n_categories_, self.n_classes_, int(self.match_samples))
        self.class_to_code_ = [result["class_to_code"][c] for c in range(self.n_classes_)]
        names = [str(c) for c in self.classes_]
        result["class_to_code"] = {names[c]: k for c, k in result["class_to_code"].items()}
        result["per_class_agreement"] = {names[c]: v for c, v in result["per_class_agreement"].items()}
        result["classes"] = names
        result["classifier"] = {"kind": "sklearn LogisticRegression (lbfgs, class_weight=balanced, max_iter 500)",
                                "features": f"{self.img_size}x{self.img_size} in [-1,1], 2x2 average-pooled",
                                "train_accuracy": train_acc, "converged": converged}
        return result

    def _generate_code(self, code: int, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` images (at ``img_size``, in [−1, 1]) from categorical code index ``code``."""
        z, c = self._sample_latents(n, gen)
        cat = torch.zeros(n, self.n_categories_, device=self.device_)
        cat[:, code] = 1
        return self.generator_(z, cat, c)

    def _sample(self, class_index: int, n: int, gen: torch.Generator) -> torch.Tensor:
        return self._from_net(self._generate_code(self.class_to_code_[class_index], n, gen))

    def _extra_info(self) -> dict:
        return {"latent_dim": int(self.latent_dim), "code_dim": int(self.code_dim),
                "n_categories": int(self.n_categories_), "lambda_cat": float(self.lambda_cat),
                "lambda_con": float(self.lambda_con), "lr": float(self.lr),
                "betas": [float(self.beta1), float(self.beta2)], "adversarial_loss": "least squares (MSE)",
                "categorical_loss": "CrossEntropy on the softmax head (double softmax, as PyTorch-GAN)",
                "train_priors": {"z": "N(0,1)", "code": "U(-1,1)"},
                "continuous_loss": "MSE(latent head, code)",
                "sample_priors": {"z": "N(0,1)", "code": "U(-1,1)"},
                "img_size": int(self.img_size), "input_hw": list(self.input_hw_),
                "resize": ("none" if self.input_hw_ == (int(self.img_size),) * 2 else
                           "bilinear to img_size for training; bilinear antialiased back to the input size"),
                "synthesis": "sampling_strategy (auto: balance every class to the majority)",
                "synthesised": dict(self.synthesised_), "matching": self.matching_}


class IMSICSampler(InfoGANSampler):
    """IMSIC oversampler (He et al. 2021): InfoGAN with the Bayesian structure regulariser (Eq. 6).

    Same networks and three steps as :class:`InfoGANSampler`; the info step's continuous term is the
    structure loss of :func:`structure_loss` with the configured ``structure`` (latent code c′_i →
    parent observed codes c_j). Two modes (method-specs §3.1/§3.2, §9 items 1–5):

    * ``"paper"`` (default): z, c ~ N(0, I) in training and synthesis, the Eq. 6 loss
      Σ_parents ℓ − Σ_non-parents ℓ (``reduction`` default ``"per_sample"``: Eq. 6 read per sample, spec §9.1),
      and every minority class topped up to the majority (``sampling_strategy``, balance).
    * ``"code"`` (the released code): c ~ U(−1, 1) in training, the released hinge with the "gains2"
      terms (per-sample MSE by default; it is 0 for any non-degenerate prediction, so only the
      categorical term trains), and synthesis of ``code_per_class`` (100) images for **every** class,
      majority included, from z ~ N(0, 0.5²) with all continuous codes 0.

    Parameters (beyond :class:`InfoGANSampler`'s; defaults: ``code_dim`` 4, ``lambda_con`` 0.15)
    ----------
    mode : {"paper", "code"}, default="paper"
    structure : mapping or None, default=None
        Latent code index → list of parent (observed) code indices, every latent code listed, e.g.
        ``{0: [0], 1: [1], 2: [2], 3: [0, 1, 2, 3]}``; None gives that released structure generalised
        to ``code_dim`` (:func:`default_structure`). Latent (c′) parents are not supported.
    reduction : {"per_sample", "batch_mean"} or None, default="per_sample"
        ℓ of the structure loss: per sample, mean_b (c′_bi − c_bj)² (Eq. 6 read per sample, spec §9.1: MSE
        between batch means of zero-mean codes carries almost no dependence information), or Eq. 6's
        E(·) taken literally as batch means. None is imbench's earlier default, kept so that records whose
        config says ``null`` rerun as they ran: "batch_mean" in paper mode, "per_sample" in code mode.
    nonparent_cap : "independence", float or None, default="independence"
        Paper mode only: upper limit of each non-parent ℓ in Eq. 6. Eq. 6 as written (None) is
        unbounded below and diverges; "independence" caps ℓ at its expected value for two independent
        N(0, 1) codes (:func:`independence_cap`: 2 per sample, 2/B on batch means), a documented
        deviation that keeps the term's direction (push non-parents apart) up to independence.
    sample_noise_std : float or None, default=None
        Std of z at synthesis; None: 1 (paper) / 0.5 (code, MNIST; the Fashion checkpoint used 0.2).
    sample_code_std : float, list of float or None, default=None
        Std of each continuous code at synthesis (N(0, std²); 0 fixes it at 0); None: 1 (paper) / 0 (code).
    code_per_class : int, default=100
        Images per class in code mode (ignored in paper mode).
    """

    method_name = "IMSIC"

    _parameter_constraints: dict = {
        **InfoGANSampler._parameter_constraints,
        "mode": [StrOptions(set(MODES))],
        "structure": "no_validation",
        "reduction": [StrOptions(set(REDUCTIONS)), None],
        "nonparent_cap": [StrOptions({"independence"}), Interval(Real, 0, None, closed="left"), None],
        "sample_noise_std": [Interval(Real, 0, None, closed="left"), None],
        "sample_code_std": [Interval(Real, 0, None, closed="left"), list, tuple, None],
        "code_per_class": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, sampling_strategy: Any = "auto", epochs: int = 500, batch_size: int = 64,
                 mode: str = "paper", structure: Mapping | None = None, reduction: str | None = "per_sample",
                 nonparent_cap: str | float | None = "independence",
                 latent_dim: int = LATENT_DIM, code_dim: int = 4, n_categories: int | None = None,
                 lambda_cat: float = 1.0, lambda_con: float = 0.15, lr: float = 2e-4, beta1: float = 0.5,
                 beta2: float = 0.999, img_size: int = IMG_SIZE, sample_noise_std: float | None = None,
                 sample_code_std: float | Sequence[float] | None = None, code_per_class: int = 100,
                 match_samples: int = 100, random_oversample_first: bool = False, device: str = "auto",
                 random_state: int | None = None, verbose: bool = False,
                 image_shape: tuple[int, ...] | None = None, max_batches_per_epoch: int | None = None) -> None:
        super().__init__(sampling_strategy=sampling_strategy, epochs=epochs, batch_size=batch_size,
                         latent_dim=latent_dim, code_dim=code_dim, n_categories=n_categories,
                         lambda_cat=lambda_cat, lambda_con=lambda_con, lr=lr, beta1=beta1, beta2=beta2,
                         img_size=img_size, match_samples=match_samples,
                         random_oversample_first=random_oversample_first, device=device,
                         random_state=random_state, verbose=verbose, image_shape=image_shape,
                         max_batches_per_epoch=max_batches_per_epoch)
        self.mode = mode
        self.structure = structure
        self.reduction = reduction
        self.nonparent_cap = nonparent_cap
        self.sample_noise_std = sample_noise_std
        self.sample_code_std = sample_code_std
        self.code_per_class = code_per_class

    def _check_settings(self) -> None:
        d = int(self.code_dim)
        self.structure_ = normalise_structure(self.structure, d, self.method_name)
        self.reduction_ = self.reduction or ("batch_mean" if self.mode == "paper" else "per_sample")
        self.sample_noise_std_ = float(self.sample_noise_std if self.sample_noise_std is not None
                                       else (1.0 if self.mode == "paper" else 0.5))
        std = self.sample_code_std if self.sample_code_std is not None else (1.0 if self.mode == "paper" else 0.0)
        if isinstance(std, (list, tuple)):
            if len(std) != d or not all(isinstance(s, Real) and not isinstance(s, bool) and s >= 0 for s in std):
                raise ConfigError(f"{self.method_name}: sample_code_std must be one number or a list of {d} "
                                  f"non-negative numbers (one per continuous code), got {list(std)}")
            self.sample_code_std_ = [float(s) for s in std]
        else:
            self.sample_code_std_ = [float(std)] * d

    def _train_latents(self, rows: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mode == "code":
            return super()._train_latents(rows)
        dev = self.device_
        return torch.randn(*rows, int(self.latent_dim), device=dev), torch.randn(*rows, int(self.code_dim), device=dev)

    def _sample_latents(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(n, int(self.latent_dim), generator=gen) * self.sample_noise_std_
        c = torch.randn(n, int(self.code_dim), generator=gen) * torch.tensor(self.sample_code_std_)
        return z.to(self.device_), c.to(self.device_)

    def _continuous_loss(self, pred: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        mask = self.__dict__.get("_mask")
        if mask is None or mask.device != pred.device:  # made in _setup for training; here for other callers
            mask = self._mask = parent_mask(self.structure_, int(self.code_dim), pred.device)
        return structure_loss(pred, code, mask, self.reduction_, self.mode,
                              nonparent_cap=self._nonparent_cap_value(pred.shape[0]))

    def _nonparent_cap_value(self, batch_size: int) -> float | None:
        if self.mode != "paper" or self.nonparent_cap is None:
            return None
        if self.nonparent_cap == "independence":
            return independence_cap(1.0, self.reduction_, batch_size)  # paper mode: c ~ N(0, 1)
        return float(self.nonparent_cap)

    def _setup(self, n_classes: int) -> None:
        super()._setup(n_classes)
        self._mask = parent_mask(self.structure_, int(self.code_dim), self.device_)

    def _amounts(self, prep: _Prepared) -> dict:
        if self.mode == "code":
            return {c: int(self.code_per_class) for c in self.classes_}
        return prep.to_make

    def _extra_info(self) -> dict:
        info = super()._extra_info()
        code_prior = "N(0,1)" if self.mode == "paper" else "U(-1,1)"
        info.update({
            "mode": self.mode, "structure": {str(i): list(p) for i, p in self.structure_.items()},
            "structure_reduction": self.reduction_,
            "nonparent_cap": (None if self.mode != "paper" or self.nonparent_cap is None
                              else {"setting": self.nonparent_cap,
                                    "value": self._nonparent_cap_value(int(self.batch_size))}),
            "continuous_loss": (("Eq. 6: sum over parents of MSE - sum over non-parents of MSE"
                                 + ("" if self.nonparent_cap is None else " capped at nonparent_cap (deviation)"))
                                if self.mode == "paper"
                                else "released hinge: max(pos - neg - gains2, 0) (effectively 0, spec 3.2 Finding)"),
            "train_priors": {"z": "N(0,1)", "code": code_prior},
            "sample_priors": {"z": f"N(0,{self.sample_noise_std_}^2)",
                              "code_std": list(self.sample_code_std_)},
            "synthesis": ("sampling_strategy (auto: balance every class to the majority)" if self.mode == "paper"
                          else f"{int(self.code_per_class)} per class, majority classes included (released code)"),
        })
        return info

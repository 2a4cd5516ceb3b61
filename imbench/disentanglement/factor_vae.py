"""The FactorVAE disentanglement metric (Kim & Mnih 2018), as disentanglement_lib computes it.

Spec §1.7. Given a representation ``represent(observations) -> codes`` and a ground-truth sampler:

1. global variance of every code dimension over ``num_variance_estimate`` random observations;
   dimensions whose standard deviation is below ``prune_threshold`` are pruned (so are constant ones,
   whatever the threshold: they would divide by zero);
2. one vote: draw a factor k uniformly and one value of it from the sampler, draw ``batch_size``
   observations with factor k held at that value, and vote (k, the active dimension whose variance
   over the batch, divided by its global variance, is smallest);
3. ``num_train`` votes train a majority-vote classifier (dimension -> its most frequent factor);
   the score is its accuracy on ``num_eval`` fresh votes.

Choices where disentanglement_lib leaves room, all documented on :class:`FactorVAEScore`:
variances use ``ddof=1``; ties go to the lowest index (NumPy's argmin / argmax); a dimension with no
training vote predicts factor 0 (the library's argmax over a zero column); if every dimension is
pruned both accuracies are 0.0, as the library returns, rather than chance: a representation that
carries no variance is scored as carrying no factor.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from imbench.errors import ConfigError

Represent = Callable[[np.ndarray], np.ndarray]


class GroundTruthSampler(Protocol):
    """What the metric needs of a dataset with known generative factors."""

    @property
    def num_factors(self) -> int: ...

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor rows (int, (n, num_factors)) from the data distribution."""

    def sample_with_fixed(self, factor_index: int, value_index: int, n: int,
                          rng: np.random.Generator) -> np.ndarray:
        """``n`` factor rows with one factor held at one value and the others from the distribution."""

    def observe(self, factors: np.ndarray) -> np.ndarray:
        """The observations (images, or anything ``represent`` accepts) of factor rows."""


@dataclass(frozen=True)
class FactorVAESettings:
    """Sample sizes of one evaluation; the defaults are disentanglement_lib's
    (``unsupervised_study_v1/metric_configs/factor_vae_metric.gin``)."""

    batch_size: int = 64
    num_train: int = 10_000
    num_eval: int = 5_000
    num_variance_estimate: int = 10_000
    prune_threshold: float = 0.05

    def __post_init__(self) -> None:
        # a variance needs two samples; a vote count needs one
        for name, least in (("batch_size", 2), ("num_variance_estimate", 2), ("num_train", 1), ("num_eval", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
                raise ConfigError(f"{name} must be an integer >= {least}; got {value!r}")
        if not (np.isfinite(self.prune_threshold) and self.prune_threshold >= 0):
            raise ConfigError(f"prune_threshold must be a finite number >= 0; got {self.prune_threshold!r}")


@dataclass(frozen=True, eq=False)
class FactorVAEScore:
    """Result of :func:`factor_vae_score`.

    Attributes
    ----------
    train_accuracy, eval_accuracy : float
        Accuracy of the majority-vote classifier on the training and the evaluation votes; the
        score is ``eval_accuracy``. Both are 0.0 when every dimension is pruned.
    train_votes, eval_votes : numpy.ndarray
        int64 (num_factors, num_dims): ``votes[k, d]`` counts the votes in which factor k was fixed
        and code dimension d had the smallest normalised variance (columns are the representation's
        own dimensions; pruned ones stay 0).
    classifier : numpy.ndarray
        int64 (num_dims,): the factor each dimension predicts (0 for dimensions without a training vote,
        as disentanglement_lib's argmax gives).
    global_variances : numpy.ndarray
        float64 (num_dims,).
    active_dims, pruned_dims : numpy.ndarray
        int64 indices of the dimensions kept and pruned.
    settings : FactorVAESettings
        The sample sizes and threshold used.
    """

    train_accuracy: float
    eval_accuracy: float
    train_votes: np.ndarray
    eval_votes: np.ndarray
    classifier: np.ndarray
    global_variances: np.ndarray
    active_dims: np.ndarray
    pruned_dims: np.ndarray
    settings: FactorVAESettings

    @property
    def score(self) -> float:
        return self.eval_accuracy


def factor_vae_score(represent: Represent, sampler: GroundTruthSampler, rng: np.random.Generator, *,
                     batch_size: int = 64, num_train: int = 10_000, num_eval: int = 5_000,
                     num_variance_estimate: int = 10_000, prune_threshold: float = 0.05,
                     votes_per_call: int = 16) -> FactorVAEScore:
    """The FactorVAE disentanglement score of a representation.

    Parameters
    ----------
    represent : callable
        Maps observations from ``sampler.observe`` (a batch of n) to codes, shape (n, num_dims).
    sampler : GroundTruthSampler
        Draws factor rows and turns them into observations (e.g. ``DSpritesSampler``, or
        ``FactorValueSampler`` whose observations are the factor values).
    rng : numpy.random.Generator
        The only source of randomness (``represent`` may have its own).
    batch_size, num_train, num_eval, num_variance_estimate, prune_threshold
        See :class:`FactorVAESettings`; the defaults are disentanglement_lib's.
    votes_per_call : int
        How many votes' batches go to one ``represent`` call (``votes_per_call · batch_size``
        observations); only speed and memory depend on it, not the result.

    Returns
    -------
    FactorVAEScore
    """
    settings = FactorVAESettings(batch_size, num_train, num_eval, num_variance_estimate, prune_threshold)
    if isinstance(votes_per_call, bool) or not isinstance(votes_per_call, (int, np.integer)) or votes_per_call < 1:
        raise ConfigError(f"votes_per_call must be an integer >= 1; got {votes_per_call!r}")
    codes = _codes(represent, sampler, sampler.sample_factors(num_variance_estimate, rng), votes_per_call * batch_size)
    global_variances = codes.var(axis=0, ddof=1)
    active = (np.sqrt(global_variances) >= prune_threshold) & (global_variances > 0)
    num_dims = codes.shape[1]
    active_dims, pruned_dims = np.flatnonzero(active), np.flatnonzero(~active)
    if not active.any():
        empty = np.zeros((sampler.num_factors, num_dims), dtype=np.int64)
        return FactorVAEScore(0.0, 0.0, empty, empty.copy(), np.zeros(num_dims, dtype=np.int64),
                              global_variances, active_dims, pruned_dims, settings)
    vote = _Voter(represent, sampler, settings, global_variances, active_dims, votes_per_call)
    train_votes = vote(num_train, rng)
    classifier = np.argmax(train_votes, axis=0)
    eval_votes = vote(num_eval, rng)
    return FactorVAEScore(_accuracy(train_votes, classifier), _accuracy(eval_votes, classifier),
                          train_votes, eval_votes, classifier, global_variances, active_dims, pruned_dims,
                          settings)


def _accuracy(votes: np.ndarray, classifier: np.ndarray) -> float:
    return float(votes[classifier, np.arange(votes.shape[1])].sum() / votes.sum())


def _codes(represent: Represent, sampler: GroundTruthSampler, factors: np.ndarray, chunk: int) -> np.ndarray:
    parts = [_represent(represent, sampler.observe(factors[i:i + chunk])) for i in range(0, len(factors), chunk)]
    return np.concatenate(parts)


def _represent(represent: Represent, observations: np.ndarray) -> np.ndarray:
    codes = np.asarray(represent(observations), dtype=np.float64)
    if codes.ndim != 2 or codes.shape[0] != len(observations) or codes.shape[1] == 0:
        raise ConfigError(f"represent must map {len(observations)} observations to codes of shape "
                          f"({len(observations)}, num_dims); got shape {codes.shape}")
    if not np.isfinite(codes).all():
        raise ConfigError("represent returned non-finite codes (NaN or inf)")
    return codes


@dataclass(frozen=True, eq=False)
class _Voter:
    """Draws votes: each is a fixed factor and the active dimension that varies least with it fixed."""

    represent: Represent
    sampler: GroundTruthSampler
    settings: FactorVAESettings
    global_variances: np.ndarray
    active_dims: np.ndarray
    votes_per_call: int

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        L = self.settings.batch_size
        table = np.zeros((self.sampler.num_factors, len(self.global_variances)), dtype=np.int64)
        for start in range(0, n, self.votes_per_call):
            m = min(self.votes_per_call, n - start)
            fixed = np.empty(m, dtype=np.int64)
            rows = []
            for i in range(m):  # one vote's draws at a time, so that votes_per_call leaves the draws alone
                fixed[i] = k = int(rng.integers(self.sampler.num_factors))
                # the held value comes from the factor's own distribution, as disentanglement_lib
                # takes it from a sampled row
                value = int(self.sampler.sample_factors(1, rng)[0, k])
                rows.append(self.sampler.sample_with_fixed(k, value, L, rng))
            codes = _represent(self.represent, self.sampler.observe(np.concatenate(rows)))
            local = codes.reshape(m, L, -1).var(axis=1, ddof=1)
            ratio = local[:, self.active_dims] / self.global_variances[self.active_dims]
            np.add.at(table, (fixed, self.active_dims[np.argmin(ratio, axis=1)]), 1)
        return table

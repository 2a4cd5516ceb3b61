"""Train/test (and validation) splits per paper protocol, with the skew applied deterministically.

``holdout``        image sets with an official test split: each fold re-draws the skewed training set
                   from the official training set (Fajardo's draws, GAMO's and IMSIC's repeats); the test
                   set is the official one, optionally ``test_per_class`` images per class (GAMO).
``kfold``          stratified k-fold on the skewed pool (train+test of the source concatenated).
``shuffle_split``  stratified shuffle-splits: ``test_size`` of the pool for test, then ``val_size`` of the
                   rest for validation (EGL: 64/16/20).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit, train_test_split

from imbench.data.skew import SkewSpec, class_counts, skew_indices, target_counts
from imbench.errors import ConfigError, DataError

PROTOCOLS = ("holdout", "kfold", "shuffle_split")


@dataclass
class Fold:
    """Indices of one fold. With ``holdout`` train indexes the train pool and test the test pool;
    otherwise all three index the single (skewed) pool.

    ``withheld`` indexes the rows of the pool the skew left out of this fold's draw (never in its
    train, validation or test part): EGL's "Potential" adds some back."""

    index: int
    train: np.ndarray
    test: np.ndarray
    val: np.ndarray | None = None
    withheld: np.ndarray | None = None


def fold_rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


def _check_classes(name: str, y: np.ndarray, classes: list[int], fold: int) -> None:
    missing = sorted(set(classes) - set(np.unique(y).tolist()))
    if missing:
        raise DataError(
            f"fold {fold}: the {name} split has no sample of class(es) {missing}; every class must appear in "
            "every split. Use fewer folds, a larger test_size, or a milder ir"
        )


def make_folds(
    protocol: dict,
    skew: SkewSpec,
    y_pool: np.ndarray,
    y_test: np.ndarray | None,
    n_folds: int,
    seed: int,
) -> list[Fold]:
    """Build ``n_folds`` folds of the given protocol.

    Parameters
    ----------
    protocol : the ``protocol`` config (``name`` plus its options).
    skew : what imbalance to impose.
    y_pool : labels of the training pool (``holdout``) or of the whole dataset (otherwise).
    y_test : labels of the official test set (``holdout`` only).
    """
    name = protocol["name"]
    classes = sorted(np.unique(y_pool).tolist())
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {name!r}; valid: {', '.join(PROTOCOLS)}")
    if n_folds < 1:
        raise ConfigError(f"folds must be >= 1, got {n_folds}")
    folds: list[Fold] = []
    if name == "holdout":
        if y_test is None:
            raise ConfigError(
                "protocol=holdout needs a dataset with an official test split; "
                "use protocol=kfold or protocol=shuffle_split for this dataset"
            )
        wanted = target_counts(skew, class_counts(y_pool))
        per_class = protocol.get("test_per_class")
        for f in range(n_folds):
            train = skew_indices(y_pool, wanted, fold_rng(seed, f, 0), replace=skew.replace)
            if per_class:
                test_counts = {c: int(per_class) for c in classes}
                target_counts(SkewSpec(scheme="counts", counts=list(test_counts.values())), class_counts(y_test))
                test = skew_indices(y_test, test_counts, fold_rng(seed, f, 1))
            else:
                test = np.arange(len(y_test))
            _check_classes("test", y_test[test], classes, f)
            folds.append(Fold(f, train, test, withheld=np.setdiff1d(np.arange(len(y_pool)), train)))
        return folds

    wanted = target_counts(skew, class_counts(y_pool))
    keep = skew_indices(y_pool, wanted, fold_rng(seed, 0, 2), replace=skew.replace)
    y = y_pool[keep]
    withheld = np.setdiff1d(np.arange(len(y_pool)), keep)
    if name == "kfold":
        if n_folds < 2:
            raise ConfigError("protocol=kfold needs folds >= 2")
        smallest = min(class_counts(y).values())
        if smallest < n_folds:
            raise DataError(
                f"protocol=kfold with {n_folds} folds needs at least {n_folds} samples of every class, but the "
                f"smallest class has {smallest} after skewing; use fewer folds or a milder ir"
            )
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        splits = list(splitter.split(np.zeros(len(y)), y))
    else:
        splitter = StratifiedShuffleSplit(n_splits=n_folds, test_size=protocol.get("test_size", 0.2), random_state=seed)
        try:
            splits = list(splitter.split(np.zeros(len(y)), y))
        except ValueError as e:
            raise DataError(f"cannot make stratified splits: {e}. Use a milder ir or a larger dataset") from e
    val_size = protocol.get("val_size")
    for f, (tr, te) in enumerate(splits):
        val = None
        if val_size:
            try:
                tr, val = train_test_split(tr, test_size=val_size, stratify=y[tr], random_state=seed + f)
            except ValueError as e:
                raise DataError(f"fold {f}: cannot carve a stratified validation split: {e}") from e
            _check_classes("validation", y[val], classes, f)
        _check_classes("train", y[tr], classes, f)
        _check_classes("test", y[te], classes, f)
        folds.append(Fold(f, keep[np.sort(tr)], keep[np.sort(te)], None if val is None else keep[np.sort(val)],
                          withheld=withheld))
    return folds

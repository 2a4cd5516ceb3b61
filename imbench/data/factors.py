"""Ground-truth factor grids: every combination of a few discrete factors, sampled by index.

A *factor row* holds one index per factor (``rows[:, k]`` indexes ``grid.values[k]``). Grids are
ordered row-major with the last factor fastest, the order of dSprites' published arrays, so
:meth:`FactorGrid.flat_index` is a row's position in such an array.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imbench.errors import ConfigError


@dataclass(frozen=True, eq=False)
class FactorGrid:
    """Discrete generative factors: their names and the value each index stands for.

    Parameters
    ----------
    names : tuple of str
        One name per factor.
    values : tuple of numpy.ndarray
        ``values[k][i]`` is the value of index ``i`` of factor ``k``.
    """

    names: tuple[str, ...]
    values: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.values) or not self.names:
            raise ConfigError(f"a factor grid needs one value list per name; got {len(self.names)} names "
                              f"and {len(self.values)} value lists")
        if any(len(v) == 0 for v in self.values):
            raise ConfigError(f"every factor needs at least one value; sizes {self.sizes}")

    @property
    def sizes(self) -> tuple[int, ...]:
        """Number of values of each factor."""
        return tuple(len(v) for v in self.values)

    @property
    def num_factors(self) -> int:
        return len(self.names)

    @property
    def size(self) -> int:
        """Number of factor combinations."""
        return int(np.prod(self.sizes))

    def subset(self, factor_indices: list[int]) -> FactorGrid:
        """The grid of the factors at ``factor_indices`` only."""
        return FactorGrid(tuple(self.names[k] for k in factor_indices),
                          tuple(self.values[k] for k in factor_indices))

    def check_rows(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` as an int64 (n, num_factors) array, or ConfigError naming what is wrong."""
        a = np.asarray(rows)
        if a.ndim != 2 or a.shape[1] != self.num_factors:
            raise ConfigError(f"factor rows must have shape (n, {self.num_factors}) for factors "
                              f"{list(self.names)}; got shape {a.shape}")
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise ConfigError(f"factor rows hold value indices and must be integers; got dtype {a.dtype}")
        a = a.astype(np.int64, copy=False)
        bad = (a < 0) | (a >= np.asarray(self.sizes))
        if bad.any():
            k = int(np.flatnonzero(bad.any(axis=0))[0])
            raise ConfigError(f"factor {self.names[k]!r} has {self.sizes[k]} values (indices 0.."
                              f"{self.sizes[k] - 1}); got index {int(a[bad[:, k], k][0])}")
        return a

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor rows, each factor drawn uniformly and independently.

        Returns
        -------
        numpy.ndarray
            int64, shape (n, num_factors).
        """
        return np.stack([rng.integers(0, s, size=n) for s in self.sizes], axis=1).astype(np.int64)

    def sample_with_fixed(self, factor_index: int, value_index: int, n: int,
                          rng: np.random.Generator) -> np.ndarray:
        """``n`` factor rows with factor ``factor_index`` at ``value_index`` and the others uniform."""
        if not 0 <= factor_index < self.num_factors:
            raise ConfigError(f"factor_index must be in 0..{self.num_factors - 1} ({list(self.names)}); "
                              f"got {factor_index}")
        if not 0 <= value_index < self.sizes[factor_index]:
            raise ConfigError(f"factor {self.names[factor_index]!r} has {self.sizes[factor_index]} values; "
                              f"got value_index {value_index}")
        rows = self.sample(n, rng)
        rows[:, factor_index] = value_index
        return rows

    def values_of(self, rows: np.ndarray) -> np.ndarray:
        """The factor values (float64, shape (n, num_factors)) of factor rows."""
        a = self.check_rows(rows)
        return np.stack([self.values[k][a[:, k]] for k in range(self.num_factors)], axis=1).astype(np.float64)

    def flat_index(self, rows: np.ndarray) -> np.ndarray:
        """Position of each row in the row-major enumeration of the grid (last factor fastest)."""
        return np.ravel_multi_index(tuple(self.check_rows(rows).T), self.sizes).astype(np.int64)

    def rows_at(self, flat: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`flat_index`."""
        return np.stack(np.unravel_index(np.asarray(flat, dtype=np.int64), self.sizes), axis=1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class FactorValueSampler:
    """A ground-truth sampler over a grid whose observations are the factor values themselves.

    It lets the disentanglement metric be checked without rendering anything: a representation
    receives the (n, num_factors) float values as its "images".
    """

    grid: FactorGrid

    @property
    def num_factors(self) -> int:
        return self.grid.num_factors

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.grid.sample(n, rng)

    def sample_with_fixed(self, factor_index: int, value_index: int, n: int,
                          rng: np.random.Generator) -> np.ndarray:
        return self.grid.sample_with_fixed(factor_index, value_index, n, rng)

    def observe(self, factors: np.ndarray) -> np.ndarray:
        return self.grid.values_of(factors)

"""Potential (Yasinnik et al., EGL Table 1): the CE model trained with real minority rows added back.

EGL's Adult experiment imposes its imbalance by dropping minority rows; "Potential" is the plain
classifier (CE) trained after adding back withdrawn real minority rows "so that the training minority
count doubles" (spec §2.3, step 5): an upper reference for what an oversampler could reach with perfect
synthetic rows. Here, per minority class c of the fold's training part (n_c rows), n_c rows are drawn
without replacement from the rows the skew left out of the fold's draw (``FoldTask.withheld``, never in
its validation or test part), seeded by the fold's method seed; a class with fewer left-out rows gets all
of them and the record says so. The configured classifier then trains on the enlarged set as on any
other (same schedule, validation selection, repeats); the added rows are real, so nothing is marked
synthetic and no synthetic weight applies.
"""
from __future__ import annotations

from typing import Any, ClassVar, Sequence

import numpy as np

from imbench.errors import ConfigError, ImbenchError
from imbench.methods.executor import TrainRequest, train_classifiers
from imbench.methods.protocol import FittedRun, FoldFit, FoldTask, JobContext, Method, SyntheticSamples


class Potential(Method):
    """The configured classifier on the training part plus withheld real minority rows.

    Parameters
    ----------
    factor : float, default=1.0
        Withheld rows added per minority class, as a multiple of its training count (1: the count
        doubles, as the paper says).
    name, label, reference : str
        The method's config name, table label and reference.
    """

    kind = "resample"
    label = "Potential"
    reference = "Yasinnik et al. (EGL), Table 1: CE with withdrawn real minority rows added back"
    needs_withheld: ClassVar[bool] = True

    def __init__(self, factor: float = 1.0, name: str = "potential", label: str = "", reference: str = "") -> None:
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
            raise ConfigError(f"potential: factor must be a number > 0 (withheld rows per minority row; 1 doubles "
                              f"the minority), got {factor!r}")
        self.factor = float(factor)
        self.name = name

    def added_rows(self, task: FoldTask) -> tuple[np.ndarray, dict[str, Any]]:
        """Indices into ``task.withheld`` of the rows to add, and what the record says about them."""
        if task.withheld is None:
            raise ConfigError("potential needs the rows the skew left out of the training draw, and this job has "
                              "none (skew=none keeps every row); use a skew that drops minority rows, e.g. "
                              "experiment=egl_1")
        rng = np.random.default_rng(task.method_seed)
        picks, wanted, available = [], {}, {}
        for c in sorted(task.minority):
            pool = np.flatnonzero(task.withheld.y == c)
            want = int(round(self.factor * task.counts.get(c, 0)))
            take = min(want, len(pool))
            picks.append(rng.choice(pool, size=take, replace=False) if take else np.empty(0, int))
            wanted[str(c)], available[str(c)] = want, int(len(pool))
        idx = np.sort(np.concatenate(picks)) if picks else np.empty(0, int)
        added = {str(c): int((task.withheld.y[idx] == c).sum()) for c in sorted(task.minority)}
        info = {"factor": self.factor, "added": added, "wanted": wanted, "withheld_available": available}
        short = [c for c in added if added[c] < wanted[c]]
        if short:
            info["note"] = (f"class(es) {', '.join(short)}: fewer withheld rows than wanted, all of them added")
        return idx, info

    def fit_fold(self, task: FoldTask, ctx: JobContext) -> FoldFit:
        idx, info = self.added_rows(task)
        X = np.concatenate([task.train.X, task.withheld.X[idx]])
        y = np.concatenate([task.train.y, task.withheld.y[idx]])
        positive = task.minority[0] if len(ctx.classes) == 2 and task.minority else None
        seeds = list(task.repeats.items())
        requests = [TrainRequest(ctx.classifiers(), X, y, seed, None, task.val, positive) for _, seed in seeds]
        outcomes: Sequence[FittedRun | ImbenchError] = train_classifiers(requests, ctx)
        # the enlarged set, with no row marked synthetic: the record's train_after counts the added rows
        enlarged = SyntheticSamples(X, y, np.zeros(len(y), dtype=bool))
        return FoldFit(runs={repeat: out for (repeat, _), out in zip(seeds, outcomes)}, synthetic=enlarged,
                       info={"potential": info})

"""Resample, then classify: the adapter that puts any imbalanced-learn sampler under the method protocol.

One fold: the configured sampler resamples the training part (originals first, then synthetic rows),
Fajardo's synthetic-weight search runs when the classifier config has a ``weight_grid``
(:mod:`imbench.methods.weight_search`), and the configured classifier trains once per repeat, synthetic
rows weighing the chosen weight. Several folds at once: the generators of a stepped deep sampler (CGAN,
ACGAN, CVAE and their R- variants) train as vmap groups, and so do the classifiers, when the job's
batching allows (:mod:`imbench.methods.executor`).

The sampler's class may declare ``profile_caps`` (a tuple of :class:`~imbench.methods.protocol.ProfileCap`)
for its own parameters; the method config names the label and reference, since one adapter serves
every sampler.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from imbench.errors import ImbenchError, TrainingError
from imbench.methods.executor import TrainRequest, train_classifiers
from imbench.methods.oversampling import (Oversampled, OversampleTask, fit_k_neighbors, oversample, oversample_many,
                                         sampler_class)
from imbench.methods.protocol import FittedRun, FoldFit, FoldTask, JobContext, Method, apply_caps
from imbench.methods.weight_search import SearchFold, WeightSearch


@dataclass
class _Prepared:
    """One fold between its oversampling and its classifiers."""

    task: FoldTask
    main: Oversampled
    search_folds: list[SearchFold] = field(default_factory=list)
    search_oversampled: list[Oversampled] = field(default_factory=list)
    search: dict | None = None


class Resample(Method):
    """Resample with ``sampler`` (a Hydra config: ``_target_`` and the sampler's parameters), then train
    the configured classifier.

    Parameters
    ----------
    sampler : the sampler's config; ``sampling_strategy`` may use imbench's ``double_minority``, and
        ``random_state`` is set per fold by the runner's seeds.
    name, label, reference : the method's config name, its label in tables, its reference.
    """

    kind = "resample"

    def __init__(self, sampler: Mapping[str, Any], name: str = "", label: str = "", reference: str = "") -> None:
        self.sampler = copy.deepcopy(dict(sampler))
        self.name = name or self.sampler.get("_target_", "resample")

    @classmethod
    def capped_config(cls, cfg: dict, profile: Mapping[str, Any]) -> dict:
        out = copy.deepcopy(cfg)
        target = sampler_class(out.get("sampler") or {})
        out["sampler"] = apply_caps(out.get("sampler") or {}, getattr(target, "profile_caps", ()), profile)
        return out

    def sampler_config(self, ctx: JobContext) -> dict:
        cfg = copy.deepcopy(self.sampler)
        if ctx.synthetic_amount is not None:
            cfg["sampling_strategy"] = ctx.synthetic_amount
        return cfg

    def groups_generators(self, n_trainings: int, ctx: JobContext) -> bool:
        """Whether ``n_trainings`` generator trainings (a job's folds, and their weight search's halves)
        train as vmap groups: only for stepped generators (CGAN, ACGAN, CVAE and their R- variants, InfoGAN, IMSIC; see
        :mod:`imbench.methods.generative.stepped`), at least two, where the job's batching allows."""
        from imbench.methods.generative.stepped import SteppedGenerator

        cls = sampler_class(self.sampler)
        stepped = isinstance(cls, type) and issubclass(cls, SteppedGenerator)
        return stepped and n_trainings >= 2 and ctx.batching.allows(n_trainings, ctx.device)

    def fit_fold(self, task: FoldTask, ctx: JobContext) -> FoldFit:
        out = self.fit_folds([task], ctx)[0]
        if isinstance(out, ImbenchError):
            raise out
        return out

    def fit_folds(self, tasks: Sequence[FoldTask], ctx: JobContext) -> list[FoldFit | ImbenchError]:
        search = WeightSearch.configured(ctx.classifiers)
        prepared = self._oversample(tasks, search, ctx)
        ready = [p for p in prepared if isinstance(p, _Prepared)]
        if search is not None:
            self._search_weights([p for p in ready if p.main.samples.count], search, ctx)
        runs = self._train_repeats(ready, ctx)
        out: list[FoldFit | ImbenchError] = []
        for p in prepared:
            if isinstance(p, ImbenchError):
                out.append(p)
                continue
            info = dict(p.main.info or {})
            note = fit_k_neighbors(self.sampler_config(ctx), p.task.train.y, f"fold {p.task.fold}")[1]
            if note:
                info["note"] = note
            out.append(FoldFit(runs=runs[id(p)], synthetic=p.main.samples,
                               info={"oversampler": info or None, "weight_search": p.search}))
        return out

    def _oversample(self, tasks: Sequence[FoldTask], search: WeightSearch | None,
                    ctx: JobContext) -> list[_Prepared | ImbenchError]:
        """Every fold's resampling (and its weight search's), as generator groups where they pay."""
        sampler_cfg = self.sampler_config(ctx)
        if self.groups_generators(len(tasks) * (1 + (search is not None)), ctx):
            return self._oversample_grouped(tasks, sampler_cfg, search, ctx)
        out: list[_Prepared | ImbenchError] = []
        for task in tasks:
            try:
                main = oversample(self._task(sampler_cfg, task), self.name, device=str(ctx.device))
                p = _Prepared(task, main)
                if search is not None and main.samples.count:
                    p.search_folds = search.plan(task, sampler_cfg)
                    p.search_oversampled = [oversample(f.oversample, self.name, device=str(ctx.device))
                                            for f in p.search_folds]
                out.append(p)
            except TrainingError as e:  # a failed training belongs to its fold; a bad config stops the job
                out.append(e)
        return out

    def _oversample_grouped(self, tasks, sampler_cfg, search, ctx) -> list[_Prepared | ImbenchError]:
        jobs: list[OversampleTask] = []
        plans = []
        for task in tasks:
            folds = search.plan(task, sampler_cfg) if search is not None else []
            plans.append(folds)
            jobs.extend([self._task(sampler_cfg, task), *(f.oversample for f in folds)])
        results = oversample_many(jobs, self.name, device=str(ctx.device), log=ctx.log)
        out: list[_Prepared | ImbenchError] = []
        for task, folds in zip(tasks, plans):
            mine, results = results[:1 + len(folds)], results[1 + len(folds):]
            failed = next((r for r in mine if isinstance(r, ImbenchError)), None)
            if failed is not None:
                out.append(failed)
                continue
            out.append(_Prepared(task, mine[0], folds, list(mine[1:])))
        return out

    @staticmethod
    def _task(sampler_cfg: dict, task: FoldTask) -> OversampleTask:
        cfg = fit_k_neighbors(sampler_cfg, task.train.y, f"fold {task.fold}")[0]
        return OversampleTask(cfg, task.train.X, task.train.y, task.minority, task.method_seed)

    @staticmethod
    def _search_weights(prepared: list[_Prepared], search: WeightSearch, ctx: JobContext) -> None:
        """Every fold's candidates in one :func:`train_classifiers` call; the chosen weight per fold."""
        cands = {id(p): search.candidates(p.task, p.search_oversampled) for p in prepared}
        outcomes = train_classifiers([c.request for p in prepared for c in cands[id(p)]], ctx)
        for p in prepared:
            mine, outcomes = outcomes[:len(cands[id(p)])], outcomes[len(cands[id(p)]):]
            p.search = search.result(p.task, p.search_folds, cands[id(p)], mine, ctx.classes)

    @staticmethod
    def _train_repeats(prepared: list[_Prepared], ctx: JobContext) -> dict[int, dict[int, FittedRun | ImbenchError]]:
        requests, owners = [], []
        for p in prepared:
            weight = {} if p.search is None else {"synthetic_weight": p.search["chosen"]}
            s = p.main.samples
            positive = p.task.minority[0] if len(ctx.classes) == 2 and p.task.minority else None
            for repeat, seed in p.task.repeats.items():
                requests.append(TrainRequest(ctx.classifiers(**weight), s.X, s.y, seed, s.mask, p.task.val, positive))
                owners.append((id(p), repeat))
        runs: dict[int, dict[int, FittedRun | ImbenchError]] = {id(p): {} for p in prepared}
        for (owner, repeat), outcome in zip(owners, train_classifiers(requests, ctx)):
            runs[owner][repeat] = outcome
        return runs


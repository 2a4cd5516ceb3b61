"""A sampler that remembers what it was given, for the leakage test."""
import numpy as np

SEEN: list[np.ndarray] = []


class RecordingSampler:
    def __init__(self, sampling_strategy="auto", random_state=None):
        self.random_state = random_state

    def fit_resample(self, X, y):
        SEEN.append(np.array(X, copy=True))
        return X, y


from imbench.methods.protocol import FittedRun, FoldFit, Method  # noqa: E402


class PriorClassifier:
    """Predicts the training class frequencies for every sample."""

    def __init__(self, classes, y):
        self.prior = np.array([np.mean(y == c) for c in classes])

    def predict_proba(self, X):
        return np.tile(self.prior, (len(X), 1))


class OwnClassifierMethod(Method):
    """An end-to-end method with its own (trivial) classifier, for the runner's own-classifier interface."""

    kind = "end_to_end"
    label = "Prior"

    def __init__(self, loss: str = "ls") -> None:
        self.loss = loss

    @classmethod
    def own_classifier(cls, cfg):
        return {"name": "prior", "loss": cfg.get("loss", "ls"), "schedule": {"steps": 0}}

    def fit_fold(self, task, ctx):
        clf = PriorClassifier(ctx.classes, task.train.y)
        return FoldFit(runs={r: FittedRun(clf, {"steps": 0}, 0.0) for r in task.repeats}, info={"prior": list(clf.prior)})

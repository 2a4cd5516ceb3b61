"""GAMO2pix as a method: GAMO's convolutional form, then one VAE per minority class on GAMO's frozen
feature extractor F, which turns GAMO's generated feature vectors into images (Mullick et al. 2019,
§5, Table 5, Fig. 5; the networks are in :mod:`imbench.methods.gamo.pix`).

The classifier of a run is GAMO's M, as for ``method=gamo``; what GAMO2pix adds are the images: for
each minority class n_max − n_i of them (as many as balancing takes), which the runner scores by FID
against that class's real test images and keeps a preview of. They are made once per fold, from the
fold's first classifier repeat, as every method's synthetic samples are.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from imbench.errors import ConfigError
from imbench.methods.gamo.method import Gamo, to_unit_range, with_originals
from imbench.methods.gamo.pix import ClassVAE, PixSchedule, train_class_vae
from imbench.methods.gamo.trainer import ClassLayout, GamoTrainer
from imbench.methods.protocol import FoldFit, FoldTask, JobContext, ProfileCap, SyntheticSamples


class Gamo2Pix(Gamo):
    """GAMO (conv form) plus a per-class VAE decoder of its feature vectors.

    Parameters
    ----------
    vae : the VAE settings (:class:`~imbench.methods.gamo.pix.PixSchedule`: ``steps``, ``batch_size``,
        ``lr``, ``betas``, ``latent``, ``hidden``, ``channels``, ``head``).
    **gamo : every :class:`~imbench.methods.gamo.method.Gamo` parameter; ``form`` must be ``conv``.
    """

    label = "GAMO2pix"
    profile_caps: ClassVar[tuple[ProfileCap, ...]] = Gamo.profile_caps + (ProfileCap("vae.steps", "max_pix_steps"),)

    def __init__(self, vae: Mapping[str, Any] | None = None, **gamo: Any) -> None:
        super().__init__(**gamo)
        if self.form != "conv":
            raise ConfigError("GAMO2pix decodes the feature vectors of GAMO's conv form; method.form must be conv "
                              f"(got {self.form!r}). In the dense form GAMO's samples already are images: use "
                              "method=gamo method.form=dense")
        settings = dict(vae or {})
        if "betas" in settings:
            settings["betas"] = tuple(settings["betas"])
        unknown = set(settings) - set(PixSchedule.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"method.vae has unknown key(s) {sorted(unknown)}; known: "
                              f"{', '.join(PixSchedule.__dataclass_fields__)}")
        self.pix = PixSchedule(**settings)
        self._pix_record: dict | None = None

    def settings_record(self) -> dict:
        record = super().settings_record()
        record["vae"] = {**asdict(self.pix), "betas": list(self.pix.betas)}
        if self.pix.head == "code":
            record["code_choices"] = sorted(record["code_choices"] + ["vae.head"])
        return record

    def fit_fold(self, task: FoldTask, ctx: JobContext) -> FoldFit:
        self._pix_record = None
        fit = super().fit_fold(task, ctx)
        if self._pix_record is not None:
            fit.info["gamo2pix"] = self._pix_record
        return fit

    def balancing_samples(self, trainer: GamoTrainer, task: FoldTask, layout: ClassLayout, classes: Sequence[int],
                          ctx: JobContext) -> SyntheticSamples:
        """Train a VAE per minority class on F's final features of its images, then decode n_max − n_i
        GAMO feature vectors of each class into images (in the data's [0, 1])."""
        t0 = time.perf_counter()
        shape = tuple(trainer.X.shape[1:])
        width = trainer.points[0].shape[1]
        n_max = layout.counts[layout.majority]
        per_slot = [n_max - layout.counts[c] for c in layout.minority]
        generated = trainer.generate(per_slot)
        bar = tqdm(total=self.pix.steps * len(layout.minority), desc="GAMO2pix VAEs", unit="batch", leave=False,
                   disable=not ctx.progress)
        images, labels, per_class = [], [], {}
        offset = 0
        for slot, c in enumerate(layout.minority):
            seed = trainer.seed + 1000 * (slot + 1)
            torch.manual_seed(seed)
            vae = ClassVAE(width, shape, self.pix).to(trainer.X.device)
            done = bar.n
            report = train_class_vae(vae, trainer.points[slot], trainer.X[trainer.slot_index[slot]], self.pix, seed,
                                     progress=lambda k: bar.update(done + k - bar.n))
            feats = generated.X[offset:offset + per_slot[slot]]
            offset += per_slot[slot]
            noise = torch.Generator(device=trainer.X.device).manual_seed(seed + 2)
            for start in range(0, len(feats), 512):
                images.append(vae.images(feats[start:start + 512], noise).float().cpu().numpy())
            labels.append(np.full(per_slot[slot], classes[c]))
            per_class[int(classes[c])] = {"train_images": int(layout.counts[c]), "generated": int(per_slot[slot]),
                                          "final_reconstruction": report.reconstruction, "final_kl": report.kl,
                                          "seconds": report.seconds}
        bar.close()
        self._pix_record = {"steps_per_class": self.pix.steps, "head": self.pix.head, "per_class": per_class,
                            "seconds": time.perf_counter() - t0}
        X_new = to_unit_range(np.concatenate(images)) if images else np.zeros((0, *shape), np.float32)
        y_new = np.concatenate(labels) if labels else np.zeros(0, int)
        return with_originals(task, X_new, y_new, time.perf_counter() - t0)

"""Disentanglement metrics of learnt representations against known generative factors."""
from imbench.disentanglement.factor_vae import (
    FactorVAEScore,
    FactorVAESettings,
    GroundTruthSampler,
    factor_vae_score,
)

__all__ = ["FactorVAEScore", "FactorVAESettings", "GroundTruthSampler", "factor_vae_score"]

"""The 32×32 InfoGAN networks of PyTorch-GAN that IMSIC's released code (He et al. 2021) forks
(method-specs §3.2); the InfoGAN baseline uses the same ones (§3.4).

* :class:`InfoGANGenerator` -- G(z, one-hot category, continuous code): concat → Linear → 128×8×8 →
  BN(128) → upsample ×2 (nearest) → conv 3×3 128 → BN(eps 0.8) → LReLU 0.2 → upsample ×2 → conv 3×3
  64 → BN(eps 0.8) → LReLU 0.2 → conv 3×3 C → tanh: N×C×32×32 in (−1, 1).
* :class:`InfoGANDiscriminator` -- four blocks conv 3×3 stride 2 pad 1 (16, 32, 64, 128 channels),
  each LReLU 0.2 and Dropout2d 0.25, BN(eps 0.8) on blocks 2–4; flatten 128×2×2 = 512 → three heads:
  adversarial Linear(512→1) (no sigmoid; least-squares loss), categorical Linear(512→K) + Softmax
  (PyTorch-GAN then applies CrossEntropyLoss to these probabilities: a double softmax, kept as released),
  continuous-code Linear(512→code_dim).

PyTorch-GAN quirk kept: ``nn.BatchNorm2d(n, 0.8)`` passes 0.8 as *eps*. Initialisation
(``weights_init_normal``): conv weights N(0, 0.02), BN weights N(1, 0.02) and biases 0; linear layers
keep PyTorch's default.
"""
from __future__ import annotations

import torch
from torch import nn

IMG_SIZE = 32
LATENT_DIM = 62
BN_EPS_QUIRK = 0.8  # PyTorch-GAN's nn.BatchNorm2d(n, 0.8): the 0.8 lands in eps
LEAK = 0.2


def init_infogan_weights(module: nn.Module) -> None:
    """PyTorch-GAN ``weights_init_normal``: conv N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class InfoGANGenerator(nn.Module):
    """G(z, category one-hot, code) → N×C×32×32 images in (−1, 1)."""

    def __init__(self, latent_dim: int = LATENT_DIM, n_categories: int = 10, code_dim: int = 2,
                 channels: int = 1, img_size: int = IMG_SIZE) -> None:
        super().__init__()
        self.init_size = img_size // 4
        self.l1 = nn.Linear(latent_dim + n_categories + code_dim, 128 * self.init_size ** 2)
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 128, 3, stride=1, padding=1),
            nn.BatchNorm2d(128, BN_EPS_QUIRK),
            nn.LeakyReLU(LEAK, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, stride=1, padding=1),
            nn.BatchNorm2d(64, BN_EPS_QUIRK),
            nn.LeakyReLU(LEAK, inplace=True),
            nn.Conv2d(64, channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )
        init_infogan_weights(self)

    def forward(self, z: torch.Tensor, category: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        out = self.l1(torch.cat((z, category, code), -1))
        return self.conv_blocks(out.view(out.shape[0], 128, self.init_size, self.init_size))


def _block(cin: int, cout: int, bn: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, 2, 1), nn.LeakyReLU(LEAK, inplace=True), nn.Dropout2d(0.25)]
    if bn:
        layers.append(nn.BatchNorm2d(cout, BN_EPS_QUIRK))
    return layers


class InfoGANDiscriminator(nn.Module):
    """D(x) → (adversarial score N×1, category probabilities N×K (softmax), code prediction N×code_dim)."""

    def __init__(self, n_categories: int = 10, code_dim: int = 2, channels: int = 1, img_size: int = IMG_SIZE) -> None:
        super().__init__()
        self.conv_blocks = nn.Sequential(*_block(channels, 16, bn=False), *_block(16, 32), *_block(32, 64),
                                         *_block(64, 128))
        features = 128 * (img_size // 2 ** 4) ** 2
        self.adv_layer = nn.Linear(features, 1)
        self.aux_layer = nn.Sequential(nn.Linear(features, n_categories), nn.Softmax(dim=1))
        self.latent_layer = nn.Linear(features, code_dim)
        init_infogan_weights(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.conv_blocks(x).flatten(1)
        return self.adv_layer(out), self.aux_layer(out), self.latent_layer(out)

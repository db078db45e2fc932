"""Training-only adversarial terms that make the generated mouth sharp (never exported).

Pixel losses (L1, gradients) reward the *mean* of the plausible mouths, which is a blur: no teeth, no
moustache, smeared lip edges. The best systems add a discriminator (Wav2Lip+GAN's visual-quality
discriminator on the lower face; MuseTalk 1.5's stage 2: L1 1.0 + VGG 0.01 + GAN 0.01 + mouth-crop GAN
0.01 + sync 0.05, the discriminator switched on after step 1,000). We have no pretrained VGG offline, so
the perceptual term is feature matching on the discriminators' own features (pix2pixHD), which needs
nothing pretrained.

Two spectral-norm patch discriminators with hinge losses:
  - `lower`: the generated lower half of the crop (S/2 x S);
  - `mouth`: a crop around the target's lips (cut with the target's landmarks, so the generated and the
    real mouth are judged in the same window), resampled to MOUTH_SIZE.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

MOUTH_SIZE = (32, 48)  # H, W of the mouth crop the mouth discriminator sees (128 px crops: about 1:1)


def _sn_conv(cin: int, cout: int, k: int, stride: int) -> nn.Module:
    return nn.utils.spectral_norm(nn.Conv2d(cin, cout, k, stride, k // 2))


_LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)
_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def luma_laplacian(x: torch.Tensor, same_size: bool = False) -> torch.Tensor:
    """The luma Laplacian of [B,3,H,W] images, [B,1,H-2,W-2] (or [B,1,H,W] with replicated borders): one
    definition for the trainer's texture term and the discriminators' high-pass channel."""
    y = (x * _LUMA).sum(1, keepdim=True)
    return F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate") if same_size else y, _LAPLACE)


def highpass(x: torch.Tensor, gain: float) -> torch.Tensor:
    """gain x the luma Laplacian (replicated borders): the fine detail a blur lacks, made large."""
    return luma_laplacian(x, same_size=True) * gain


class PatchDiscriminator(nn.Module):
    """[B,3,H,W] in [0,1] -> (patch logits [B,1,h,w], intermediate features for feature matching).

    With `highpass` > 0 it also sees that gain x the luma Laplacian as a fourth channel. Spectral norm keeps each
    layer 1-Lipschitz, so on the image alone the logits can differ between a sharp and a blurred mouth by little
    more than the detail's own amplitude (a few hundredths): the discriminators sat at chance (hinge 1.8-2.0 of 2)
    through every run, and a fresh one could not tell the generated mouths from real ones (51 % on held-out
    crops after 300 steps). With the Laplacian at gain 30 it told them apart 76 % of the time in the same steps."""

    def __init__(self, width: int = 32, layers: int = 3, highpass: float = 0.0):
        super().__init__()
        self.highpass = highpass
        chans = [4 if highpass > 0 else 3] + [width * 2 ** i for i in range(layers)]
        self.blocks = nn.ModuleList(
            nn.Sequential(_sn_conv(chans[i], chans[i + 1], 4 if i < layers else 3, 2), nn.LeakyReLU(0.2, inplace=True))
            for i in range(layers))
        self.head = _sn_conv(chans[-1], 1, 3, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = []
        x = x * 2 - 1 if self.highpass <= 0 else torch.cat([x * 2 - 1, highpass(x, self.highpass)], 1)
        for b in self.blocks:
            x = b(x)
            feats.append(x)
        return self.head(x), feats


def mouth_crop(images: torch.Tensor, lips: torch.Tensor, size: int, out_hw=MOUTH_SIZE) -> torch.Tensor:
    """Crops [B,3,S,S] images around the lips ([B,40,2] crop pixels): a box 1.6x the lips' width, with the
    aspect of `out_hw`, centred on the lips, bilinearly resampled (differentiable in the images)."""
    lo, hi = lips.min(1).values, lips.max(1).values
    centre = (lo + hi) / 2
    half_w = ((hi[:, 0] - lo[:, 0]) * 0.8).clamp(min=size * 0.12)
    half_h = half_w * out_hw[0] / out_hw[1]
    b = images.shape[0]
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = half_w / (size / 2)
    theta[:, 1, 1] = half_h / (size / 2)
    theta[:, :, 2] = centre / (size / 2) - 1
    grid = F.affine_grid(theta, [b, 3, *out_hw], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


@dataclass
class AdversarialWeights:
    gan: float = 0.0          # lower-half discriminator, generator side
    mouth_gan: float = 0.0    # mouth-crop discriminator, generator side
    feature_match: float = 0.0  # L1 between the discriminators' features of generated and real images
    start: int = 1000         # generator step at which the adversarial terms switch on (D trains from step 0)

    @property
    def enabled(self) -> bool:
        return self.gan > 0 or self.mouth_gan > 0 or self.feature_match > 0


class Adversary(nn.Module):
    """Both discriminators, their optimiser and the losses. `generator_terms` (for the generator's loss) and
    `discriminator_step` (one hinge update on the same batch, generated images detached)."""

    def __init__(self, weights: AdversarialWeights, size: int, lr: float = 2e-4, width: int = 32, highpass: float = 0.0):
        super().__init__()
        self.w = weights
        self.size = size
        self.lower = PatchDiscriminator(width, 3, highpass)
        self.mouth = PatchDiscriminator(width, 3, highpass)
        self.opt = torch.optim.Adam(self.parameters(), lr=lr, betas=(0.5, 0.999))

    def _views(self, images: torch.Tensor, lips: torch.Tensor, y0: int):
        return images[:, :, y0:], mouth_crop(images, lips, self.size)

    def generator_terms(self, out: torch.Tensor, target: torch.Tensor, lips: torch.Tensor, y0: int, step: int) -> dict:
        """Terms to add to the generator's loss (empty before `start`). Discriminator weights get no gradient."""
        if not self.w.enabled or step < self.w.start:
            return {}
        for p in self.parameters():
            p.requires_grad_(False)
        try:
            fake_lower, fake_mouth = self._views(out, lips, y0)
            with torch.no_grad():
                real_lower, real_mouth = self._views(target, lips, y0)
                _, real_lf = self.lower(real_lower)
                _, real_mf = self.mouth(real_mouth)
            lg, lf = self.lower(fake_lower)
            mg, mf = self.mouth(fake_mouth)
            fm = sum((a - b).abs().mean() for a, b in zip(lf + mf, real_lf + real_mf)) / len(lf + mf)
            terms = {"ganG": -lg.mean(), "mouthGanG": -mg.mean(), "featMatch": fm}
        finally:
            for p in self.parameters():
                p.requires_grad_(True)
        terms["adv"] = self.w.gan * terms["ganG"] + self.w.mouth_gan * terms["mouthGanG"] + self.w.feature_match * terms["featMatch"]
        return terms

    def discriminator_step(self, out: torch.Tensor, target: torch.Tensor, lips: torch.Tensor, y0: int) -> dict:
        """One hinge-loss update of both discriminators: real = target, fake = generated (detached)."""
        fake_lower, fake_mouth = self._views(out.detach(), lips, y0)
        real_lower, real_mouth = self._views(target, lips, y0)
        d = {}
        total = 0.0
        for name, net, real, fake in (("dLower", self.lower, real_lower, fake_lower), ("dMouth", self.mouth, real_mouth, fake_mouth)):
            r, _ = net(real)
            f, _ = net(fake)
            loss = F.relu(1 - r).mean() + F.relu(1 + f).mean()
            d[name] = loss
            d[name + "Real"] = r.mean().detach()
            d[name + "Fake"] = f.mean().detach()
            total = total + loss
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        self.opt.step()
        return {k: float(v) for k, v in d.items()}

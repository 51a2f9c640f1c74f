# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The DDPM forward process and its two reverse samplers, DDPM and DDIM (epsilon prediction).

Notation (Ho et al. 2020; Song et al. 2021): betas b_t for t = 0 .. T - 1, a_t = 1 - b_t and
ab_t = a_0 * ... * a_t. Training noises a clean chunk x0 into x_t = sqrt(ab_t) x0 +
sqrt(1 - ab_t) e and the network predicts e. Both samplers first estimate
x0 = (x_t - sqrt(1 - ab_t) e) / sqrt(ab_t), clip it to ``clip_sample`` when set, and re-derive
e from the clipped x0, so the two stay consistent.

- DDPM visits every step and draws x_{t-1} from the posterior q(x_{t-1} | x_t, x0).
- DDIM visits ``steps`` evenly spaced steps ("trailing" spacing: T - 1 first, down to the last
  one, then t = -1 with ab = 1), and moves x_t to sqrt(ab_prev) x0 + sqrt(1 - ab_prev - s^2) e
  + s z with s = eta * sqrt((1 - ab_prev) / (1 - ab_t)) * sqrt(1 - ab_t / ab_prev). With
  eta = 0 it draws no noise (a deterministic map from the initial noise); with eta = 1 and
  steps = T, s^2 is DDPM's posterior variance and the step is exactly DDPM's.

Coefficients are kept in float64 and cast to the sample's dtype when used.
"""

from __future__ import annotations

from collections.abc import Callable
import math

import torch

from vla_ros.core.errors import ConfigError
from vla_ros.policies.diffusion.config import BetaSchedule, NoiseSchedule, Sampler, Sampling

__all__ = ['DiffusionProcess', 'NoisePredictor', 'make_betas']

#: (noisy chunk (B, L, D), timesteps (B,) int64) -> predicted noise (B, L, D).
NoisePredictor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Offset s of the squared-cosine schedule, and the cap on its betas (Nichol and Dhariwal).
_COSINE_OFFSET = 0.008
_MAX_BETA = 0.999


def make_betas(schedule: NoiseSchedule) -> torch.Tensor:
    """The (T,) float64 betas of ``schedule``."""
    steps = schedule.train_steps
    if schedule.beta_schedule is BetaSchedule.LINEAR:
        return torch.linspace(schedule.beta_start, schedule.beta_end, steps,
                              dtype=torch.float64)

    def alpha_bar(fraction: float) -> float:
        return math.cos((fraction + _COSINE_OFFSET) / (1 + _COSINE_OFFSET) * math.pi / 2) ** 2

    return torch.tensor([min(1.0 - alpha_bar((t + 1) / steps) / alpha_bar(t / steps), _MAX_BETA)
                         for t in range(steps)], dtype=torch.float64)


class DiffusionProcess:
    """Forward noising and reverse steps for one ``NoiseSchedule``.

    Args:
        schedule: the number of steps and the betas.
    """

    def __init__(self, schedule: NoiseSchedule) -> None:
        self._schedule = schedule
        self.betas = make_betas(schedule)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)

    @property
    def train_steps(self) -> int:
        """Number of training steps T."""
        return self._schedule.train_steps

    def _alpha_bar(self, timestep: int) -> float:
        return 1.0 if timestep < 0 else float(self.alphas_cumprod[timestep])

    def add_noise(self, clean: torch.Tensor, noise: torch.Tensor,
                  timesteps: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(ab_t) clean + sqrt(1 - ab_t) noise, per sample.

        Args:
            clean: (B, ...) clean samples.
            noise: standard normal noise of the same shape.
            timesteps: (B,) int64 steps in [0, T).
        """
        alpha_bar = self.alphas_cumprod.to(clean.device)[timesteps].to(clean.dtype)
        alpha_bar = alpha_bar.reshape(-1, *([1] * (clean.dim() - 1)))
        return alpha_bar.sqrt() * clean + (1.0 - alpha_bar).sqrt() * noise

    def ddim_timesteps(self, steps: int) -> list[int]:
        """The ``steps`` timesteps DDIM visits, highest first (trailing spacing).

        Raises:
            ConfigError: ``steps`` outside 1 .. T.
        """
        total = self.train_steps
        if not 1 <= steps <= total:
            raise ConfigError(f'DDIM steps: {steps!r}, expected 1 .. {total}')
        return [round(total - index * total / steps) - 1 for index in range(steps)]

    def _clean_estimate(self, noise_pred: torch.Tensor, timestep: int, sample: torch.Tensor,
                        clip_sample: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x0 estimate, clipped when asked; the noise consistent with it)."""
        alpha_bar = self._alpha_bar(timestep)
        clean = (sample - math.sqrt(1.0 - alpha_bar) * noise_pred) / math.sqrt(alpha_bar)
        if clip_sample is None:
            return clean, noise_pred
        clean = clean.clamp(-clip_sample, clip_sample)
        return clean, (sample - math.sqrt(alpha_bar) * clean) / math.sqrt(1.0 - alpha_bar)

    def ddim_step(self, noise_pred: torch.Tensor, timestep: int, previous: int,
                  sample: torch.Tensor, *, eta: float, clip_sample: float | None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """One DDIM step from ``timestep`` to ``previous`` (-1: the clean end).

        Noise is drawn from ``generator`` (on the CPU) only when the step's s > 0.
        """
        clean, noise_pred = self._clean_estimate(noise_pred, timestep, sample, clip_sample)
        alpha_bar, alpha_bar_prev = self._alpha_bar(timestep), self._alpha_bar(previous)
        sigma = eta * math.sqrt((1.0 - alpha_bar_prev) / (1.0 - alpha_bar)
                                * (1.0 - alpha_bar / alpha_bar_prev))
        direction = math.sqrt(max(1.0 - alpha_bar_prev - sigma ** 2, 0.0))
        moved = math.sqrt(alpha_bar_prev) * clean + direction * noise_pred
        if sigma > 0.0:
            moved = moved + sigma * _standard_normal(sample, generator)
        return moved

    def ddpm_step(self, noise_pred: torch.Tensor, timestep: int, sample: torch.Tensor, *,
                  clip_sample: float | None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """One ancestral DDPM step from ``timestep`` to ``timestep - 1`` (noise when t > 0)."""
        clean, _ = self._clean_estimate(noise_pred, timestep, sample, clip_sample)
        alpha_bar, alpha_bar_prev = self._alpha_bar(timestep), self._alpha_bar(timestep - 1)
        beta = float(self.betas[timestep])
        mean = (math.sqrt(alpha_bar_prev) * beta / (1.0 - alpha_bar) * clean
                + math.sqrt(1.0 - beta) * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * sample)
        if timestep == 0:
            return mean
        variance = beta * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar)
        return mean + math.sqrt(variance) * _standard_normal(sample, generator)

    def sample(self, predict_noise: NoisePredictor, initial_noise: torch.Tensor,
               sampling: Sampling, generator: torch.Generator | None = None) -> torch.Tensor:
        """Denoise ``initial_noise`` (B, L, D) into clean chunks with the configured sampler.

        Args:
            predict_noise: the network, conditioned on the observation already.
            initial_noise: x_T, standard normal.
            sampling: sampler, DDIM steps, eta and clipping.
            generator: source of the per-step noise (DDPM, or DDIM with eta > 0).
        """
        sample = initial_noise
        batch = initial_noise.shape[0]
        if sampling.sampler is Sampler.DDPM:
            for timestep in range(self.train_steps - 1, -1, -1):
                noise_pred = predict_noise(sample, _steps(timestep, batch, sample.device))
                sample = self.ddpm_step(noise_pred, timestep, sample,
                                        clip_sample=sampling.clip_sample, generator=generator)
            return sample
        timesteps = self.ddim_timesteps(sampling.steps)
        for index, timestep in enumerate(timesteps):
            previous = timesteps[index + 1] if index + 1 < len(timesteps) else -1
            noise_pred = predict_noise(sample, _steps(timestep, batch, sample.device))
            sample = self.ddim_step(noise_pred, timestep, previous, sample, eta=sampling.eta,
                                    clip_sample=sampling.clip_sample, generator=generator)
        return sample


def _steps(timestep: int, batch: int, device: torch.device) -> torch.Tensor:
    return torch.full((batch,), timestep, dtype=torch.int64, device=device)


def _standard_normal(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like ``like``, drawn on the CPU so devices agree."""
    noise = torch.randn(like.shape, generator=generator, dtype=like.dtype)
    return noise.to(like.device)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Train a small diffusion policy on demonstrations (DDPM, epsilon prediction) and save it.

For a normalized chunk x0 of an observation, a step t ~ U{0, T - 1} and noise e ~ N(0, I),
the network sees x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) e and the observation, and regresses e;
the squared error is averaged over the loss mask (the robot's joints, not the padding up to
the model's width). Each observation is encoded once per step and paired with
``noise_draws`` (t, e) draws, which multiplies the denoising batch at little cost. Optional
random image shifts (``shift_px``, edge pixels repeated) regularize the CNNs.

The network is seeded by ``TrainingConfig.seed``, optimized with AdamW (linear warm-up,
cosine decay to 10 %, gradient clipping); batches are drawn without replacement, epoch by
epoch, from a torch generator of the same seed; the checkpoint gets an exponential moving
average of the weights (``ema_decay``), as Diffusion Policy saves. The same seed, samples and
thread count give the same losses and weights. The checkpoint (config with the training
statistics, tokenizer, safetensors weights) loads with ``load_policy('diffusion', out_dir)``.

``vla-ros train --family diffusion`` calls ``train``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import NormMode
from vla_ros.core.training_samples import (
    dataset_spec,
    instructions_of,
    SampleSource,
)
from vla_ros.policies.diffusion.config import (
    Architecture,
    DiffusionPolicyConfig,
    NoiseSchedule,
    Sampling,
)
from vla_ros.policies.diffusion.model import build_network, DiffusionNetwork, save_checkpoint
from vla_ros.policies.diffusion.noise_schedule import DiffusionProcess
from vla_ros.policies.diffusion.processor import build_tokenizer, DiffusionProcessor
from vla_ros.policies.diffusion.training_data import (
    dataset_normalization,
    make_tensors,
    TrainingTensors,
)
from vla_ros.policies.training_loop import (
    check_run_settings,
    index_batches,
    optimize,
    require_int,
    timed_run,
    torch_threads,
)
from vla_ros.policies.training_result import TrainingResult

if TYPE_CHECKING:
    from vla_ros.core.pointing_set import PointingSet

__all__ = [
    'TrainingConfig', 'TrainingResult', 'WeightAverage', 'diffusion_loss', 'shift_images', 'train',
]

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """What a training run does; the defaults train the default reach policy.

    Attributes:
        steps: optimizer steps.
        batch_size: observations per step.
        noise_draws: (step, noise) draws per observation and optimizer step.
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW decoupled weight decay.
        warmup_steps: steps of linear warm-up; cosine decay to 10 % follows.
        grad_clip_norm: largest global gradient norm.
        seed: seeds the weights, batch order, diffusion steps and noise, and the checkpoint's
            sampling-noise seed.
        snr_gamma: Min-SNR loss weighting (Hang et al. 2023): each draw's squared error is
            weighted by min(SNR_t, gamma) / SNR_t, so the nearly clean steps, which need no
            observation to denoise, stop dominating and the conditioning learns sooner; None
            weighs every draw 1.
        shift_px: largest random image shift, pixels (0: none).
        train_padding: count chunk rows past an episode's end in the loss (hold there).
        state_norm: normalization of the joint state input.
        action_norm: normalization of the actions (quantile: q01/q99 -> [-1, 1]).
        architecture: network sizes; ``vocab_size`` is set from the tokenizer.
        schedule: the DDPM noise schedule.
        sampling: the checkpoint's sampler settings (its seed becomes ``seed``).
        ema_decay: largest decay of the exponential moving average of the weights that is
            saved (the decay warms up as (1 + step) / (10 + step)); None saves the raw weights.
        log_every: steps between loss reports (the mean since the last one).
        torch_threads: CPU threads during the run; results repeat only for the same count.
    """

    steps: int = 4000
    batch_size: int = 64
    noise_draws: int = 4
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip_norm: float = 1.0
    seed: int = 0
    snr_gamma: float | None = 5.0
    shift_px: int = 0
    train_padding: bool = True
    state_norm: NormMode = NormMode.ZSCORE
    action_norm: NormMode = NormMode.QUANTILE
    architecture: Architecture = field(default_factory=Architecture)
    schedule: NoiseSchedule = field(default_factory=NoiseSchedule)
    sampling: Sampling = field(default_factory=Sampling)
    ema_decay: float | None = 0.995
    log_every: int = 100
    torch_threads: int = 1

    def __post_init__(self) -> None:
        check_run_settings(self, counts=('noise_draws',))
        require_int(self, 'shift_px', minimum=0)
        if self.snr_gamma is not None and not (
                math.isfinite(self.snr_gamma) and self.snr_gamma > 0.0):
            raise ConfigError(
                f'TrainingConfig.snr_gamma: {self.snr_gamma!r}, expected a number > 0 or None')
        if self.ema_decay is not None and not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(
                f'TrainingConfig.ema_decay: {self.ema_decay!r}, expected 0 <= decay < 1 or None')


def diffusion_loss(network: DiffusionNetwork, process: DiffusionProcess,
                   batch: TrainingTensors, *, timesteps: torch.Tensor, noise: torch.Tensor,
                   images: torch.Tensor | None = None,
                   snr_gamma: float | None = None) -> torch.Tensor:
    """The masked mean squared noise-prediction error of ``batch``, optionally Min-SNR weighted.

    Args:
        network: the network being trained.
        process: the forward noising of the checkpoint's schedule.
        batch: B observations with their normalized chunks and loss masks.
        timesteps: (B * K,) int64 diffusion steps; K draws per observation, draw-major.
        noise: (B * K, L, max_action_dim) standard normal noise.
        images: (B, C, 3, H, W) uint8 images to use instead of the batch's (augmented).
        snr_gamma: weight each draw by min(SNR_t, gamma) / SNR_t (SNR_t = ab_t / (1 - ab_t));
            None weighs all draws 1.
    """
    draws = timesteps.shape[0] // len(batch)
    inputs = batch.inputs if images is None else replace(batch.inputs, images=images)
    cond = network.encode(inputs).repeat(draws, 1)
    clean = batch.actions.repeat(draws, 1, 1)
    predicted = network.predict_noise(process.add_noise(clean, noise, timesteps), timesteps,
                                      cond)
    mask = batch.loss_mask.repeat(draws, 1, 1).to(predicted.dtype)
    per_draw = (((predicted - noise) ** 2) * mask).sum(dim=(1, 2))
    if snr_gamma is not None:
        alpha_bar = process.alphas_cumprod[timesteps]
        snr = alpha_bar / (1.0 - alpha_bar)
        per_draw = per_draw * (snr.clamp(max=snr_gamma) / snr).to(per_draw.dtype)
    loss: torch.Tensor = per_draw.sum() / mask.sum().clamp(min=1.0)
    return loss


def shift_images(images: torch.Tensor, max_shift_px: int,
                 generator: torch.Generator) -> torch.Tensor:
    """Shift each sample's images (B, C, 3, H, W) by a random whole-pixel offset.

    Each sample gets one (dy, dx) in [-max_shift_px, max_shift_px] for all its cameras;
    pixels shifted in from outside repeat the edge.
    """
    batch, height, width = images.shape[0], images.shape[3], images.shape[4]
    offsets = torch.randint(-max_shift_px, max_shift_px + 1, (batch, 2), generator=generator)
    rows = (torch.arange(height).unsqueeze(0) + offsets[:, :1]).clamp(0, height - 1)
    cols = (torch.arange(width).unsqueeze(0) + offsets[:, 1:]).clamp(0, width - 1)
    index = torch.arange(batch)[:, None, None]
    shifted = images.permute(0, 3, 4, 1, 2)[index, rows[:, :, None], cols[:, None, :]]
    return shifted.permute(0, 3, 4, 1, 2)


class WeightAverage:
    """Exponential moving average of a network's parameters (buffers are copied).

    Args:
        network: the network being trained; the average starts as a copy of it.
        max_decay: the decay once warmed up; step s uses min(max_decay, (1 + s) / (10 + s)).
    """

    def __init__(self, network: DiffusionNetwork, max_decay: float) -> None:
        self.network = copy.deepcopy(network).requires_grad_(False)
        self._max_decay = max_decay

    @torch.no_grad()
    def update(self, network: DiffusionNetwork, step: int) -> None:
        """Move the average towards ``network`` after optimizer step ``step`` (from 0)."""
        decay = min(self._max_decay, (1 + step) / (10 + step))
        for average, current in zip(self.network.parameters(), network.parameters()):
            average.lerp_(current, 1.0 - decay)
        for kept, buffer in zip(self.network.buffers(), network.buffers()):
            kept.copy_(buffer)


def _step_loss(network: DiffusionNetwork, process: DiffusionProcess, batch: TrainingTensors,
               config: TrainingConfig, generator: torch.Generator) -> torch.Tensor:
    """The loss of one optimizer step on ``batch`` with fresh steps, noise and shifts."""
    draws = len(batch) * config.noise_draws
    timesteps = torch.randint(0, process.train_steps, (draws,), generator=generator)
    noise = torch.randn((draws, *batch.actions.shape[1:]), generator=generator)
    images = (shift_images(batch.inputs.images, config.shift_px, generator)
              if config.shift_px else None)
    return diffusion_loss(network, process, batch, timesteps=timesteps, noise=noise,
                          images=images, snr_gamma=config.snr_gamma)


def _optimize(network: DiffusionNetwork, process: DiffusionProcess, tensors: TrainingTensors,
              config: TrainingConfig, *,
              progress: bool) -> tuple[DiffusionNetwork, list[float]]:
    """Run ``config.steps`` AdamW steps; returns the network to save and every step's loss.

    The network to save is the weight average when ``config.ema_decay`` is set.
    """
    generator = torch.Generator().manual_seed(config.seed)
    batches = index_batches(len(tensors), min(config.batch_size, len(tensors)),
                            lambda count: torch.randperm(count, generator=generator))
    average = None if config.ema_decay is None else WeightAverage(network, config.ema_decay)

    def step_loss(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        loss = _step_loss(network, process, tensors.select(next(batches)), config, generator)
        return loss, loss

    network.train()
    losses = optimize(list(network.parameters()), step_loss, config, label='diffusion',
                      progress=progress,
                      after_step=None if average is None else (
                          lambda step: average.update(network, step)))
    network.eval()
    return (network if average is None else average.network), losses


def _policy_config(samples: SampleSource, config: TrainingConfig, *, dt_s: float,
                   vocab_size: int) -> DiffusionPolicyConfig:
    spec = dataset_spec(samples, dt_s=dt_s)
    return DiffusionPolicyConfig(
        spec=spec, normalization=dataset_normalization(
            samples, spec, state_mode=config.state_norm, action_mode=config.action_norm),
        architecture=replace(config.architecture, vocab_size=vocab_size),
        schedule=config.schedule, sampling=replace(config.sampling, noise_seed=config.seed))


def train(samples: SampleSource, out_dir: Path, *, dt_s: float,
          config: TrainingConfig | None = None, progress: bool = True,
          pointing: PointingSet | None = None) -> TrainingResult:
    """Fit a diffusion policy to ``samples`` and write the checkpoint to ``out_dir``.

    Args:
        samples: demonstrations (a ``DemonstrationDataset``); every sample's action chunk has
            the policy's chunk length.
        out_dir: checkpoint directory; created if missing, files of the same name replaced.
        dt_s: time between chunk rows (the demonstrations' step), seconds.
        config: the run's settings; ``TrainingConfig()`` when None.
        progress: show a tqdm progress bar on stderr.
        pointing: must be None: the diffusion family has no VLM to pre-train (the
            parameter keeps every family's trainer on one signature).

    Raises:
        ConfigError: no samples, inconsistent samples, an invalid setting or a pointing set.
        InputError: an observation the inference preprocessing refuses.
    """
    if pointing is not None:
        raise ConfigError('pointing: the diffusion family has no pointing pre-training')
    config = config or TrainingConfig()
    tokenizer = build_tokenizer(instructions_of(samples),
                                max_tokens=config.architecture.max_text_tokens)
    policy_config = _policy_config(samples, config, dt_s=dt_s,
                                   vocab_size=tokenizer.get_vocab_size())
    processor = DiffusionProcessor(policy_config, tokenizer)
    tensors = make_tensors(samples, processor, train_padding=config.train_padding)
    network = build_network(policy_config, seed=config.seed)
    trained = network

    def run() -> tuple[list[float], None]:
        nonlocal trained
        with torch_threads(config.torch_threads):
            trained, losses = _optimize(network, DiffusionProcess(config.schedule), tensors,
                                        config, progress=progress)
        return losses, None

    return timed_run(network, what=f'diffusion policy on {len(tensors)} samples',
                     samples=len(tensors), run=run,
                     save=lambda: save_checkpoint(Path(out_dir), policy_config, processor,
                                                  trained))

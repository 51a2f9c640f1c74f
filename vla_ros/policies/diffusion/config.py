# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What a diffusion checkpoint stores besides its weights: ``vla_ros_policy.json``.

The file holds the policy's contract (``PolicySpec``), the normalization of state and actions
exactly as training used it (mode, statistics, mask, eps), the network's sizes, the DDPM noise
schedule and the sampler's settings. It is the one source of truth for those values: the
weights file (``model.safetensors``) holds tensors only, and the network is rebuilt from
``Architecture`` before they are loaded. Everything is checked on load and messages name the
field. numpy only: this module imports neither torch nor transformers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
import enum
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from typing_extensions import override

from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import NormMode, QuantileStats, ZScoreStats
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.checkpoint_json import (
    check_header,
    check_spec,
    CONFIG_FILENAME,
    ConfigFile,
    is_int,
    parse_fields,
    SCHEMA_VERSION,
    spec_from_json,
    spec_to_json,
)
from vla_ros.policies.diffusion.json_fields import (
    flat_from_json,
    flat_to_json,
    parse_enum,
)

__all__ = [
    'Architecture', 'BetaSchedule', 'CONFIG_FILENAME', 'DiffusionPolicyConfig',
    'FeatureNormalization', 'NoiseSchedule', 'Normalization', 'SCHEMA_VERSION',
    'Sampler', 'Sampling', 'TOKENIZER_FILENAME', 'WEIGHTS_FILENAME',
]

WEIGHTS_FILENAME = 'model.safetensors'
TOKENIZER_FILENAME = 'tokenizer.json'
_FAMILY = 'diffusion'


class BetaSchedule(enum.Enum):
    """How the DDPM noise variance beta_t grows over the training steps."""

    LINEAR = 'linear'
    SQUARED_COSINE = 'squared_cosine'


class Sampler(enum.Enum):
    """How a chunk is denoised: DDIM over a subset of steps, or DDPM over all of them."""

    DDIM = 'ddim'
    DDPM = 'ddpm'


@dataclass(frozen=True, slots=True)
class FeatureNormalization:
    """One feature's normalization: the mode and its statistics (robot units, with mask).

    Attributes:
        mode: z-score or quantile; must match the type of ``stats``.
        stats: the statistics; a dimension its mask turns off passes through raw.
    """

    mode: NormMode
    stats: QuantileStats | ZScoreStats

    def __post_init__(self) -> None:
        expected = QuantileStats if self.mode is NormMode.QUANTILE else ZScoreStats
        if not isinstance(self.stats, expected):
            raise ConfigError(f'FeatureNormalization: mode {self.mode.value!r} needs '
                              f'{expected.__name__}, got {type(self.stats).__name__}')

    @property
    def dim(self) -> int:
        """Number of dimensions (joints)."""
        return self.stats.dim

    def normalize(self, values: ArrayLike) -> NDArray[np.float64]:
        """Robot units (..., D) -> model space."""
        return self.stats.normalize(values)

    def unnormalize(self, values: ArrayLike) -> NDArray[np.float64]:
        """Model space (..., D) -> robot units."""
        return self.stats.unnormalize(values)

    def to_json(self) -> dict[str, Any]:
        """The JSON mapping: ``mode`` plus the statistics' own keys."""
        return {'mode': self.mode.value, **self.stats.to_json()}

    @classmethod
    def from_json(cls, raw: Any, where: str) -> FeatureNormalization:
        """Build from a JSON mapping; ConfigError names ``where.<field>``."""
        if not isinstance(raw, Mapping) or 'mode' not in raw:
            raise ConfigError(f'{where}.mode: missing; expected a mapping with a mode')
        mode = parse_enum(NormMode, raw['mode'], f'{where}.mode')
        rest = {key: value for key, value in raw.items() if key != 'mode'}
        stats_class = QuantileStats if mode is NormMode.QUANTILE else ZScoreStats
        return cls(mode=mode, stats=stats_class.from_json(rest, where))


@dataclass(frozen=True, slots=True)
class Normalization:
    """Normalization of the model's state input and of its action output."""

    state: FeatureNormalization
    actions: FeatureNormalization


@dataclass(frozen=True, slots=True)
class Architecture:
    """Sizes of the network (``model.DiffusionNetwork``); all integers >= 1.

    Attributes:
        max_state_dim: width of the state input; the robot's joints are zero-padded to it.
        max_action_dim: width of the action chunk the model denoises; padded likewise.
        conv_channels: output channels of the per-camera CNN's blocks (the first two stride 2).
        keypoints: spatial-softmax keypoints per camera, each an expected (x, y).
        text_width: hidden size of the text encoder (a BERT); its MLP is twice as wide.
        text_layers: transformer layers of the text encoder.
        text_heads: attention heads of the text encoder; divides ``text_width``.
        max_text_tokens: instruction tokens kept (padded or truncated to this many).
        vocab_size: tokenizer vocabulary size, the text encoder's embedding rows.
        cond_width: width of the observation embedding that conditions the noise network.
        time_width: width of the sinusoidal diffusion-step embedding.
        unet_widths: channels of the 1-D U-Net's levels over the chunk's time axis.
        kernel_size: temporal kernel of the U-Net's convolutions, odd.
    """

    max_state_dim: int = 8
    max_action_dim: int = 8
    conv_channels: tuple[int, ...] = (16, 32, 32)
    keypoints: int = 16
    text_width: int = 32
    text_layers: int = 1
    text_heads: int = 2
    max_text_tokens: int = 16
    vocab_size: int = 128
    cond_width: int = 128
    time_width: int = 64
    unet_widths: tuple[int, ...] = (32, 64)
    kernel_size: int = 3

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            values = value if isinstance(value, tuple) else (value,)
            if not values or not all(is_int(item) and item >= 1 for item in values):
                raise ConfigError(f'Architecture.{field.name}: {value!r}, expected integers >= 1')
        if len(self.conv_channels) < 2:
            raise ConfigError(f'Architecture.conv_channels: {self.conv_channels!r}, expected at '
                              'least two blocks (both stride 2)')
        if self.text_width % self.text_heads or self.kernel_size % 2 == 0:
            raise ConfigError(f'Architecture: text_width {self.text_width} must be a multiple '
                              f'of text_heads {self.text_heads}, kernel_size '
                              f'{self.kernel_size} odd')
        if self.time_width % 2:
            raise ConfigError(f'Architecture.time_width: {self.time_width}, expected even')


@dataclass(frozen=True, slots=True)
class NoiseSchedule:
    """The DDPM forward process: how much noise each of ``train_steps`` steps adds.

    Attributes:
        train_steps: diffusion steps T of training (t = 0 .. T - 1).
        beta_schedule: linear betas, or the squared-cosine schedule (Nichol and Dhariwal).
        beta_start: first beta of the linear schedule.
        beta_end: last beta of the linear schedule.
    """

    train_steps: int = 100
    beta_schedule: BetaSchedule = BetaSchedule.SQUARED_COSINE
    beta_start: float = 1e-4
    beta_end: float = 2e-2

    def __post_init__(self) -> None:
        if not is_int(self.train_steps) or self.train_steps < 2:
            raise ConfigError(
                f'NoiseSchedule.train_steps: {self.train_steps!r}, expected an integer >= 2')
        if not 0.0 < self.beta_start <= self.beta_end < 1.0:
            raise ConfigError(f'NoiseSchedule: beta_start {self.beta_start!r} and beta_end '
                              f'{self.beta_end!r}, expected 0 < start <= end < 1')


@dataclass(frozen=True, slots=True)
class Sampling:
    """How inference denoises a chunk.

    Attributes:
        sampler: DDIM (``steps`` evenly spaced steps) or DDPM (all training steps, ancestral).
        steps: DDIM steps per chunk; at most the schedule's ``train_steps``.
        eta: DDIM noise scale: 0 is the deterministic path, 1 matches DDPM's variance.
        clip_sample: bound of the predicted clean chunk in model space; None leaves it free.
        noise_seed: seed of the generator drawing the sampling noise, so runs repeat.
    """

    sampler: Sampler = Sampler.DDIM
    steps: int = 10
    eta: float = 0.0
    clip_sample: float | None = 1.0
    noise_seed: int = 0

    def __post_init__(self) -> None:
        if not is_int(self.steps) or self.steps < 1:
            raise ConfigError(f'Sampling.steps: {self.steps!r}, expected an integer >= 1')
        if not (math.isfinite(self.eta) and self.eta >= 0.0):
            raise ConfigError(f'Sampling.eta: {self.eta!r}, expected a number >= 0')
        if self.clip_sample is not None and not (
                math.isfinite(self.clip_sample) and self.clip_sample > 0.0):
            raise ConfigError(f'Sampling.clip_sample: {self.clip_sample!r}, expected > 0 or '
                              'null')
        if not is_int(self.noise_seed) or self.noise_seed < 0:
            raise ConfigError(
                f'Sampling.noise_seed: {self.noise_seed!r}, expected an integer >= 0')


@dataclass(frozen=True, slots=True)
class DiffusionPolicyConfig(ConfigFile):
    """Everything about a diffusion checkpoint except the weights and the tokenizer."""

    spec: PolicySpec
    normalization: Normalization
    architecture: Architecture
    schedule: NoiseSchedule
    sampling: Sampling

    def __post_init__(self) -> None:
        check_spec(self.spec)
        joints = len(self.spec.joint_names)
        for name in ('state', 'actions'):
            dim = getattr(self.normalization, name).dim
            if dim != joints:
                raise ConfigError(
                    f'normalization.{name}: {dim} dimensions, expected {joints} (one per joint)')
        arch = self.architecture
        if joints > min(arch.max_state_dim, arch.max_action_dim):
            raise ConfigError(
                f'spec.joint_names: {joints} joints, but the model takes at most '
                f'{arch.max_state_dim} state and {arch.max_action_dim} action dimensions')
        if self.sampling.steps > self.schedule.train_steps:
            raise ConfigError(f'sampling.steps: {self.sampling.steps}, expected at most the '
                              f"schedule's train_steps ({self.schedule.train_steps})")
        if self.spec.image_height % 4 or self.spec.image_width % 4:
            raise ConfigError(f'spec: images {self.spec.image_width}x{self.spec.image_height}, '
                              'expected sides that are multiples of 4 (two stride-2 convs)')

    @override
    def to_json(self) -> dict[str, Any]:
        """Return the plain mapping written to ``vla_ros_policy.json``."""
        return {
            'schema_version': SCHEMA_VERSION, 'family': _FAMILY,
            'spec': spec_to_json(self.spec),
            'normalization': {'state': self.normalization.state.to_json(),
                              'actions': self.normalization.actions.to_json()},
            'architecture': flat_to_json(self.architecture),
            'schedule': flat_to_json(self.schedule),
            'sampling': flat_to_json(self.sampling),
        }

    @classmethod
    @override
    def from_json(cls, raw: Any) -> DiffusionPolicyConfig:
        """Build and validate a config from the parsed JSON mapping.

        Raises:
            ConfigError: a missing, unknown or invalid field; the message gives its path.
        """
        check_header(raw, _FAMILY)
        top = parse_fields(raw, '', required={'schema_version', 'family', 'spec',
                                              'normalization', 'architecture', 'schedule',
                                              'sampling'})
        norm = parse_fields(top['normalization'], 'normalization', required={'state', 'actions'})
        return cls(
            spec=spec_from_json(top['spec']),
            normalization=Normalization(
                state=FeatureNormalization.from_json(norm['state'], 'normalization.state'),
                actions=FeatureNormalization.from_json(norm['actions'],
                                                       'normalization.actions')),
            architecture=flat_from_json(Architecture, top['architecture'], 'architecture'),
            schedule=flat_from_json(NoiseSchedule, top['schedule'], 'schedule'),
            sampling=flat_from_json(Sampling, top['sampling'], 'sampling'))

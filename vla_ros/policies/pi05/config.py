# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What a pi0.5 policy needs besides its weights: normalisation, prompt layout, sampler settings.

Normalisation follows LeRobot's ``NormalizerProcessorStep``: QUANTILES maps q01 -> -1 and
q99 -> 1 linearly, with no clipping (a denominator of exactly zero becomes LeRobot's epsilon);
MEAN_STD is (x - mean) / (std + eps). The normalised state is then zero-padded to the model's
state width and cut into 256 bins on [-1, 1) with numpy's ``digitize`` minus one, as openpi's
tokenizer and LeRobot's ``Pi05PrepareStateTokenizerProcessorStep`` do: a value below -1 becomes
bin -1 and one at or above 0.9921875 bin 255; reproduced as is, not "fixed". numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import NormMode

if TYPE_CHECKING:
    from vla_ros.policies.base import PolicySpec

__all__ = ['FeatureNormalizer', 'LEROBOT_MODES', 'Pi05PolicyConfig', 'STATE_BINS',
           'discretize_state', 'prompt_text']

#: LeRobot's normaliser epsilon.
_EPS = 1e-8
#: Bins of the discretised state in the prompt (openpi's 256).
STATE_BINS = 256


#: LeRobot's names of the normalisation modes (``normalization_mapping``).
LEROBOT_MODES = {'QUANTILES': NormMode.QUANTILE, 'MEAN_STD': NormMode.ZSCORE}
_LEROBOT_NAMES = {mode: name for name, mode in LEROBOT_MODES.items()}


@dataclass(frozen=True, slots=True)
class FeatureNormalizer:
    """Per-dimension normalisation of one feature (state or actions), robot units <-> model.

    Attributes:
        mode: QUANTILES (q01/q99 -> [-1, 1]) or MEAN_STD.
        low: (J,) q01 for QUANTILES, mean for MEAN_STD; rad (m for prismatic joints).
        high: (J,) q99 for QUANTILES, std for MEAN_STD; same units.
    """

    mode: NormMode
    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def from_stats(cls, mode: NormMode, stats: Mapping[str, NDArray[np.float64]],
                   where: str) -> FeatureNormalizer:
        """Pick the statistics ``mode`` needs from a folder's ``{name: values}``.

        Raises:
            ConfigError: a statistic the mode needs is missing, or a std <= 0.
        """
        names = ('q01', 'q99') if mode is NormMode.QUANTILE else ('mean', 'std')
        missing = [name for name in names if name not in stats]
        if missing:
            raise ConfigError(f'{where}: no {"/".join(missing)} statistics, which '
                              f'{_LEROBOT_NAMES[mode]} normalisation needs; the folder has '
                              f'{sorted(stats)!r}')
        low, high = (tuple(float(v) for v in stats[name]) for name in names)
        if mode is NormMode.ZSCORE and min(high) <= 0.0:
            raise ConfigError(f'{where}: std {list(high)!r}, expected values > 0')
        return cls(mode=mode, low=low, high=high)

    def _scale(self) -> NDArray[np.float32]:
        high = np.asarray(self.high, dtype=np.float32)
        if self.mode is NormMode.ZSCORE:
            return high + np.float32(_EPS)
        span = high - np.asarray(self.low, dtype=np.float32)
        return np.where(span == 0.0, np.float32(_EPS), span)

    def normalize(self, values: NDArray[np.floating]) -> NDArray[np.float32]:
        """Robot units (..., J) -> model space, in float32 as LeRobot computes it."""
        values32 = np.asarray(values, dtype=np.float32)
        low = np.asarray(self.low, dtype=np.float32)
        if self.mode is NormMode.ZSCORE:
            return (values32 - low) / self._scale()
        normalized: NDArray[np.float32] = np.float32(2.0) * (values32 - low) / self._scale() - (
            np.float32(1.0))
        return normalized

    def unnormalize(self, values: NDArray[np.floating]) -> NDArray[np.float64]:
        """Model space (..., J) -> robot units; the inverse of ``normalize``."""
        values64 = np.asarray(values, dtype=np.float64)
        low, scale = np.asarray(self.low, dtype=np.float64), self._scale().astype(np.float64)
        if self.mode is NormMode.ZSCORE:
            return values64 * scale + low
        positions: NDArray[np.float64] = (values64 + 1.0) * scale / 2.0 + low
        return positions


def discretize_state(normalized: NDArray[np.floating], width: int) -> NDArray[np.int64]:
    """Zero-pad a normalised state (J,) to ``width`` and bin it as openpi does (module doc)."""
    padded = np.zeros(width, dtype=np.float32)
    padded[:len(normalized)] = normalized
    edges = np.linspace(-1.0, 1.0, STATE_BINS + 1)[:-1]
    bins: NDArray[np.int64] = (np.digitize(padded, bins=edges) - 1).astype(np.int64)
    return bins


def prompt_text(task: str, state_bins: NDArray[np.int64]) -> str:
    """pi0.5's prompt: ``Task: <task>, State: <bins>;`` newline ``Action: `` (LeRobot's)."""
    cleaned = task.strip().replace('_', ' ').replace('\n', ' ')
    state = ' '.join(str(int(value)) for value in state_bins)
    return f'Task: {cleaned}, State: {state};\nAction: '


@dataclass(frozen=True, slots=True)
class Pi05PolicyConfig:
    """Everything vla_ros needs about a pi0.5 folder besides the network.

    Attributes:
        spec: the policy's input and output contract (action joints, cameras, chunk, dt).
        state_joint_names: the joints of the state input, in the folder's order.
        state: normalisation of the state.
        actions: normalisation of the actions.
        max_state_dim: the padded state width written into the prompt.
        tokenizer_max_length: tokens of the padded prompt.
        num_denoising_steps: Euler steps per chunk.
        noise_seed: seed of the generator that draws the sampling noise.
    """

    spec: PolicySpec
    state_joint_names: tuple[str, ...]
    state: FeatureNormalizer
    actions: FeatureNormalizer
    max_state_dim: int
    tokenizer_max_length: int
    num_denoising_steps: int = 10
    noise_seed: int = 0

    def __post_init__(self) -> None:
        for where, normalizer, joints in (
                ('state', self.state, self.state_joint_names),
                ('actions', self.actions, self.spec.joint_names)):
            if not len(normalizer.low) == len(normalizer.high) == len(joints):
                raise ConfigError(f'{where}: statistics for {len(normalizer.low)} dimensions, '
                                  f'{len(joints)} joints {list(joints)!r}')
        if len(self.state_joint_names) > self.max_state_dim:
            raise ConfigError(f'state: {len(self.state_joint_names)} joints, the model takes '
                              f'at most {self.max_state_dim}')
        for name in ('max_state_dim', 'tokenizer_max_length', 'num_denoising_steps'):
            if getattr(self, name) < 1:
                raise ConfigError(f'{name}: {getattr(self, name)!r}, expected >= 1')

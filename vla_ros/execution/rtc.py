# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Real-time chunking (Black, Galliker and Levine 2025): delay estimate, prefix, soft mask, blend.

While a new chunk is inferred the robot keeps executing the current one; with an inference
delay of d steps, the first d actions of the new chunk are already decided, so they are fixed
to what the robot executes meanwhile. The following actions, up to the end of the overlap
with the current plan, are pulled towards it with weights that fall from 1 to 0 (the paper's
soft mask), and the rest is the policy's own. Flow-matching policies do this inside sampling
(inpainting guidance, ``vla_ros.core.policy.GuidedPolicy``); for the others ``blend_with_prefix``
mixes the two chunks with the same weights.

d is estimated conservatively as the largest recent latency in steps, and the execution
horizon s (steps run before the next inference starts) is kept within d <= s <= H - d.
numpy only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import math

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import InputError

__all__ = ['RtcPrefix', 'blend_with_prefix', 'estimate_delay_steps', 'rtc_bounds',
           'soft_mask_weights']


@dataclass(frozen=True, slots=True)
class RtcPrefix:
    """What a new chunk must continue: the current plan at the new chunk's time steps.

    Attributes:
        actions: (H, J) rad; row k is the current plan at the new chunk's step k (the last
            planned row repeated past the plan's end, with weight 0 there).
        prefix_steps: d, the leading steps that run before the new chunk arrives; they are
            fixed to ``actions``.
        weights: (H,) in [0, 1]; 1 for the first d steps, falling to 0 at the overlap's end.
    """

    actions: NDArray[np.float64]
    prefix_steps: int
    weights: NDArray[np.float64]

    def __post_init__(self) -> None:
        horizon = self.actions.shape[0]
        if self.actions.ndim != 2 or self.weights.shape != (horizon,) or not (
                0 <= self.prefix_steps <= horizon):
            raise InputError(
                f'RtcPrefix: actions {self.actions.shape!r}, weights {self.weights.shape!r}, '
                f'prefix_steps {self.prefix_steps!r}; expected (H, J), (H,) and 0..H')


def estimate_delay_steps(latencies_s: Iterable[float], dt_s: float) -> int:
    """The inference delay d = ceil(largest latency / dt), in steps."""
    largest_s = max(latencies_s, default=0.0)
    return max(0, math.ceil(largest_s / dt_s - 1e-9))


def rtc_bounds(delay_steps: int, execution_steps: int, chunk_steps: int) -> tuple[int, int]:
    """Clamp (d, s) to d <= s <= H - d; d itself is capped at H // 2, where s = H - d = d.

    Args:
        delay_steps: estimated inference delay d, steps.
        execution_steps: wanted execution horizon s, steps.
        chunk_steps: chunk length H.

    Returns:
        (d, s) after clamping.
    """
    delay = min(max(delay_steps, 0), chunk_steps // 2)
    execution = min(max(execution_steps, delay, 1), chunk_steps - delay)
    return delay, execution


def soft_mask_weights(prefix_steps: int, overlap_steps: int, chunk_steps: int
                      ) -> NDArray[np.float64]:
    """(H,) guidance weights: 1 for steps < d, linear down to 0 at the overlap's end, then 0.

    Args:
        prefix_steps: d, the steps fixed to the current plan.
        overlap_steps: steps of the new chunk that the current plan still covers.
        chunk_steps: H.
    """
    steps = np.arange(chunk_steps, dtype=np.float64)
    fading = max(overlap_steps - prefix_steps, 0)
    weights = 1.0 - (steps - prefix_steps + 1.0) / (fading + 1.0)
    weights = np.clip(weights, 0.0, 1.0)
    weights[:prefix_steps] = 1.0
    weights[max(overlap_steps, prefix_steps):] = 0.0
    return weights


def blend_with_prefix(positions: NDArray[np.float64], prefix: RtcPrefix) -> NDArray[np.float64]:
    """The new chunk pulled towards the current plan: w * prefix + (1 - w) * chunk, per step.

    Args:
        positions: (H, J) the new chunk, rad.
        prefix: the current plan at the same steps and the weights.

    Raises:
        InputError: the shapes differ.
    """
    if positions.shape != prefix.actions.shape:
        raise InputError(f'blend_with_prefix: chunk {positions.shape!r}, prefix '
                         f'{prefix.actions.shape!r}; expected the same shape')
    weights = prefix.weights[:, np.newaxis]
    blended = weights * prefix.actions + (1.0 - weights) * positions
    blended[:prefix.prefix_steps] = prefix.actions[:prefix.prefix_steps]
    return np.asarray(blended, dtype=np.float64)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What a training run of any family produced (each family's ``train`` returns one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vla_ros.policies.pointing import PointingResult

__all__ = ['TrainingResult']


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """What a run produced.

    Attributes:
        checkpoint_dir: the directory written.
        losses: the family's training loss of every step's batch, in order (flow: masked
            velocity error; diffusion: masked noise error; tokens and FAST: mean target
            cross-entropy, nats).
        samples: number of training samples (sequences for the token families).
        parameters: number of model parameters.
        elapsed_s: wall time of the optimization (without pre-processing and saving), seconds.
        pointing: the outcome of pointing pre-training, when the run had one.
    """

    checkpoint_dir: Path
    losses: tuple[float, ...]
    samples: int
    parameters: int
    elapsed_s: float
    pointing: PointingResult | None = None

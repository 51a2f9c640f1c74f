# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Pre-train a vision-language model to point at the object an instruction names.

Trained from random weights on a few thousand demonstrations, the transformer families learn to
move to *a* cube, not the named one: the action loss pulls too weakly on the colour word for the
model to bind it to the pixels (``docs/results.md``). PaliGemma, under the real pi0, learned
that binding in pre-training, from pointing and detection data. This is that step, on scenes the
simulator labels for free: given the cameras' images and an instruction ("touch the red cube"),
predict the named object's position on the table.

The objective: a linear head on the VLM's hidden state at the prompt's last token regresses the
object's (x, y), normalized by the set's mean and spread, with a mean squared error. The held-out
accuracy is the share of held-out scenes where the point lands nearest the named object (chance
is one in the number of objects). The family's training then starts from the pre-trained VLM.
The data is a ``vla_ros.core.pointing_set.PointingSet`` (``vla-ros pointing`` writes one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import logging
import math
from typing import TYPE_CHECKING

import torch

from vla_ros.core.errors import ConfigError
from vla_ros.policies.training_loop import optimize, OptimizerSettings

if TYPE_CHECKING:
    from vla_ros.core.pointing_set import PointingSet

__all__ = [
    'PointingConfig', 'PointingObjective', 'PointingResult', 'PromptReadout', 'padded_prompts',
    'train_pointing',
]

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PointingConfig:
    """How long and how fast to pre-train; the defaults reach full accuracy on the tabletop.

    Attributes:
        steps: optimizer steps (0: no pre-training).
        batch_size: (scene, prompt) pairs per step, both drawn at random.
        learning_rate: peak AdamW rate; linear warm-up over 100 steps, cosine decay to 10 %.
        held_out: scenes kept out of training to measure the accuracy.
        seed: seeds the head, the draws and the held-out split.
    """

    steps: int = 3000
    batch_size: int = 64
    learning_rate: float = 1e-3
    held_out: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ('steps', 'held_out', 'seed'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f'PointingConfig.{name}: {value!r}, expected an integer >= 0')
        if isinstance(self.batch_size, bool) or self.batch_size < 1:
            raise ConfigError(f'PointingConfig.batch_size: {self.batch_size!r}, expected >= 1')
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ConfigError(
                f'PointingConfig.learning_rate: {self.learning_rate!r}, expected > 0')


@dataclass(frozen=True, slots=True)
class PointingResult:
    """What pre-training achieved.

    Attributes:
        losses: every step's loss.
        accuracy: share of held-out scenes where the point is nearest the named object.
        median_error_m: median distance from the point to the named object, held out, m.
    """

    losses: tuple[float, ...]
    accuracy: float
    median_error_m: float


#: The family's part: (images (B, C, H, W, 3) uint8, prompt indices (B,)) -> (B, width) hidden
#: state of the VLM at each prompt's last token, differentiable.
PromptReadout = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def padded_prompts(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), (P, L) int64: the prompts' token ids, right-padded with 0."""
    length = max(len(row) for row in rows)
    input_ids = torch.zeros((len(rows), length), dtype=torch.long)
    attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
    for index, row in enumerate(rows):
        input_ids[index, :len(row)] = torch.as_tensor(row, dtype=torch.long)
        attention_mask[index, :len(row)] = 1
    return input_ids, attention_mask


def _rate_factor(steps: int) -> Callable[[int], float]:
    """Cosine decay to 10 % at ``steps``, scaled by a linear warm-up over the first 100.

    Unlike the action training's ``warmup_cosine`` the decay runs from step 0 and the warm-up
    multiplies it, which the shipped pointing-pre-trained checkpoints were trained with.
    """
    def factor(step: int) -> float:
        decay = 0.5 * (1.0 + math.cos(math.pi * min(1.0, step / max(1, steps))))
        return min(1.0, (step + 1) / 100) * (0.1 + 0.9 * decay)
    return factor


def _score(point: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
           positions: torch.Tensor, named: torch.Tensor, scenes: torch.Tensor,
           prompts: torch.Tensor) -> tuple[float, float]:
    """(accuracy, median error m) of pointing at ``prompts``' objects in ``scenes``."""
    with torch.no_grad():
        points = torch.cat([point(scenes[start:start + 100], prompts[start:start + 100])
                            for start in range(0, len(scenes), 100)])
    distances = torch.linalg.vector_norm(positions[scenes] - points[:, None], dim=-1)
    targets = named[prompts]
    accuracy = float((distances.argmin(dim=1) == targets).float().mean())
    return accuracy, float(distances[torch.arange(len(scenes)), targets].median())


class PointingObjective:
    """The pointing loss of a VLM over ``data``, through a linear head on ``readout``.

    Holds the head, the held-out split (``config.held_out`` scenes drawn by ``config.seed``),
    the position normalization and the random draws, so that pre-training and co-training
    (the pointing loss kept next to an action loss, ``vla_ros.policies.tokens``) continue one
    objective with one head.

    Args:
        readout: the family's VLM readout (see ``PromptReadout``) over ``data.prompts``.
        width: size of the readout's hidden state.
        data: the scenes.
        config: batch size and seed.

    Raises:
        ConfigError: no more scenes than ``config.held_out``.
    """

    def __init__(self, readout: PromptReadout, *, width: int, data: PointingSet,
                 config: PointingConfig) -> None:
        if len(data) <= config.held_out:
            raise ConfigError(f'pointing set: {len(data)} scenes, need more than the '
                              f'{config.held_out} held out')
        self._readout = readout
        self._config = config
        self._generator = torch.Generator().manual_seed(config.seed)
        self.head = torch.nn.Linear(width, 2)
        with torch.no_grad():
            self.head.weight.copy_(
                torch.randn(self.head.weight.shape, generator=self._generator) / math.sqrt(width))
            self.head.bias.zero_()
        self._images = torch.from_numpy(data.images)
        self._positions = torch.from_numpy(data.positions)
        self._named = torch.tensor([index for _, index in data.prompts])
        self._prompt_count = len(data.prompts)
        order = torch.randperm(len(data), generator=self._generator)
        self._held_out, self._train = order[:config.held_out], order[config.held_out:]
        train_positions = self._positions[self._train].reshape(-1, 2)
        self._mean = train_positions.mean(0)
        self._spread = train_positions.std(0).clamp(min=1e-6)

    @property
    def mean(self) -> tuple[float, float]:
        """The training scenes' mean object position, m: what a head output of 0 means."""
        return float(self._mean[0]), float(self._mean[1])

    @property
    def spread(self) -> tuple[float, float]:
        """The training scenes' standard deviation of object positions, m, per axis."""
        return float(self._spread[0]), float(self._spread[1])

    def point(self, scenes: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
        """(B, 2) predicted (x, y), m, of what ``prompts`` (indices) name in ``scenes``."""
        normalized: torch.Tensor = self.head(self._readout(self._images[scenes], prompts))
        return normalized * self._spread + self._mean

    def loss(self, batch_size: int | None = None) -> torch.Tensor:
        """Mean squared normalized pointing error on a fresh draw of training scenes.

        ``batch_size`` (scene, prompt) pairs, ``config.batch_size`` when None.
        """
        size = self._config.batch_size if batch_size is None else batch_size
        scenes = self._train[torch.randint(len(self._train), (size,), generator=self._generator)]
        prompts = torch.randint(self._prompt_count, (size,), generator=self._generator)
        target = self._positions[scenes, self._named[prompts]]
        return ((self.point(scenes, prompts) - target) / self._spread).square().mean()

    def score(self) -> tuple[float, float]:
        """(accuracy, median error m) on the held-out scenes, a prompt drawn for each."""
        prompts = torch.randint(self._prompt_count, (len(self._held_out),),
                                generator=self._generator)
        return _score(self.point, positions=self._positions, named=self._named,
                      scenes=self._held_out, prompts=prompts)


def train_pointing(objective: PointingObjective, parameters: Sequence[torch.nn.Parameter],
                   config: PointingConfig) -> PointingResult:
    """Train ``parameters`` (the VLM's) and ``objective``'s head to point; score held out."""
    trained = [*parameters, *objective.head.parameters()]
    settings = OptimizerSettings(steps=config.steps, batch_size=config.batch_size,
                                 learning_rate=config.learning_rate, weight_decay=1e-2,
                                 warmup_steps=100, grad_clip_norm=1.0, log_every=500)

    def step_loss(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        loss = objective.loss()
        return loss, loss

    losses = optimize(trained, step_loss, settings, label='pointing',
                      rate_factor=_rate_factor(config.steps))
    accuracy, median_error_m = objective.score()
    _LOG.info('pointing: held-out accuracy %.3f, median error %.1f cm', accuracy,
              100 * median_error_m)
    return PointingResult(losses=tuple(losses), accuracy=accuracy, median_error_m=median_error_m)


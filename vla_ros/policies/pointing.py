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
The data is a ``vla_ros.policies.pointing_set.PointingSet`` (``vla-ros pointing`` writes one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import logging
import math
from typing import TYPE_CHECKING

import torch

from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from vla_ros.policies.pointing_set import PointingSet

__all__ = [
    'PointingConfig', 'PointingResult', 'PromptReadout', 'padded_prompts', 'pretrain_pointing',
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
    """Linear warm-up over 100 steps, then cosine decay to 10 % at ``steps``."""
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


def pretrain_pointing(readout: PromptReadout, parameters: Sequence[torch.nn.Parameter], *,
                      width: int, data: PointingSet, config: PointingConfig) -> PointingResult:
    """Train ``parameters`` (the VLM's) through ``readout`` to point at the named object.

    Args:
        readout: the family's VLM readout (see ``PromptReadout``) over ``data.prompts``.
        parameters: what to train besides the head: the VLM's parameters.
        width: size of the readout's hidden state.
        data: the scenes; ``config.held_out`` of them, drawn by the seed, are only scored.
        config: steps, batch, rate, seed.

    Raises:
        ConfigError: no more scenes than ``config.held_out``.
    """
    if len(data) <= config.held_out:
        raise ConfigError(f'pointing set: {len(data)} scenes, need more than the '
                          f'{config.held_out} held out')
    generator = torch.Generator().manual_seed(config.seed)
    head = torch.nn.Linear(width, 2)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) / math.sqrt(width))
        head.bias.zero_()
    images, positions = torch.from_numpy(data.images), torch.from_numpy(data.positions)
    named = torch.tensor([index for _, index in data.prompts])
    order = torch.randperm(len(data), generator=generator)
    held_out, train_scenes = order[:config.held_out], order[config.held_out:]
    mean = positions[train_scenes].reshape(-1, 2).mean(0)
    spread = positions[train_scenes].reshape(-1, 2).std(0).clamp(min=1e-6)

    def point(scenes: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
        """(B, 2) predicted (x, y) in m of what ``prompts`` name in ``scenes``."""
        normalized: torch.Tensor = head(readout(images[scenes], prompts))
        return normalized * spread + mean

    trained = [*parameters, *head.parameters()]
    optimizer = torch.optim.AdamW(trained, lr=config.learning_rate, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _rate_factor(config.steps))
    losses: list[float] = []
    for step in range(config.steps):
        scenes = train_scenes[torch.randint(len(train_scenes), (config.batch_size,),
                                            generator=generator)]
        prompts = torch.randint(len(data.prompts), (config.batch_size,), generator=generator)
        error = (point(scenes, prompts) - positions[scenes, named[prompts]]) / spread
        loss = error.square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if (step + 1) % 500 == 0:
            _LOG.info('pointing step %d/%d: loss %.4f', step + 1, config.steps,
                      sum(losses[-500:]) / 500)
    prompts = torch.randint(len(data.prompts), (len(held_out),), generator=generator)
    accuracy, median_error_m = _score(point, positions=positions, named=named, scenes=held_out,
                                      prompts=prompts)
    _LOG.info('pointing: held-out accuracy %.3f, median error %.1f cm', accuracy,
              100 * median_error_m)
    return PointingResult(losses=tuple(losses), accuracy=accuracy, median_error_m=median_error_m)

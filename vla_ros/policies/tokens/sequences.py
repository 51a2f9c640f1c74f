# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Demonstration samples -> statistics and teacher-forcing sequences for the token families.

Each sample becomes one sequence: its prompt (``PromptEncoder``, the inference path itself,
so training sees exactly the tokens it will be deployed with) followed by the target ids of
its action chunk (bin tokens, or FAST tokens and the end token). Sequences are right-padded;
``labels`` hold the target ids and -100 everywhere else, so the loss covers the actions only.
Rows past an episode's end stay in the targets: the dataset repeats the last target there,
which teaches the policy to hold where a demonstration stopped.

Images stay uint8 until a batch is drawn (``pixels_to_model``), a quarter of the memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
import torch

from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import compute_stats, QuantileStats
from vla_ros.policies.tokens.config import ActionSpace, TokenNormalization

if TYPE_CHECKING:
    from vla_ros.core.training_samples import SampleSource
    from vla_ros.policies.base import PolicySpec
    from vla_ros.policies.tokens.prompt import PromptEncoder

__all__ = [
    'IGNORE_INDEX', 'MIN_SPAN', 'SequenceTensors', 'TargetEncoder', 'make_sequences',
    'model_space_actions', 'token_normalization',
]

#: Label of the positions the loss skips (the prompt and the padding), as torch's default.
IGNORE_INDEX = -100
#: Smallest q99 - q01 stored, robot units: a joint that never moves in the data must not turn
#: measurement noise into whole-range swings of its bins.
MIN_SPAN = 1e-3


class TargetEncoder(Protocol):
    """Turns a chunk of absolute targets into the ids the model must generate."""

    def target_ids(self, actions: ArrayLike, joint_positions: ArrayLike) -> NDArray[np.int64]:
        """(T, J) absolute targets, (J,) observed positions -> (N,) target ids."""
        ...


@dataclass(frozen=True, slots=True)
class SequenceTensors:
    """Every sample's sequence, stacked (N samples, S positions).

    Attributes:
        input_ids: (N, S) int64 prompt then target ids, right-padded with the pad id.
        attention_mask: (N, S) int64, 1 for real tokens.
        token_type_ids: (N, S) int64, 0 for the prompt (bidirectional), 1 after it.
        labels: (N, S) int64 target ids at the target positions, IGNORE_INDEX elsewhere.
        images: (N, C, H, W, 3) uint8 camera images in spec order.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor
    labels: torch.Tensor
    images: torch.Tensor

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def select(self, indices: torch.Tensor) -> SequenceTensors:
        """The rows ``indices`` (1-D int64) of every field, trimmed to their longest sequence."""
        mask = self.attention_mask[indices]
        length = int(mask.sum(dim=1).max())
        return SequenceTensors(
            input_ids=self.input_ids[indices, :length], attention_mask=mask[:, :length],
            token_type_ids=self.token_type_ids[indices, :length],
            labels=self.labels[indices, :length], images=self.images[indices])


def _quantile_stats(values: NDArray[np.float64]) -> QuantileStats:
    stats = compute_stats(values)
    q01, q99 = np.asarray(stats.q01), np.asarray(stats.q99)
    centre, half = (q01 + q99) / 2.0, np.maximum(q99 - q01, MIN_SPAN) / 2.0
    return QuantileStats(q01=tuple(centre - half), q99=tuple(centre + half))


def model_space_actions(actions: ArrayLike, joint_positions: ArrayLike,
                        action_space: ActionSpace) -> NDArray[np.float64]:
    """Absolute targets (T, J) in ``action_space``, robot units (before normalization)."""
    targets = np.asarray(actions, dtype=np.float64)
    if action_space is ActionSpace.DELTA:
        return targets - np.asarray(joint_positions, dtype=np.float64)
    return targets


def token_normalization(samples: SampleSource, spec: PolicySpec,
                        action_space: ActionSpace) -> TokenNormalization:
    """q01/q99 of the joint positions and of every chunk row in ``action_space``.

    Spans narrower than ``MIN_SPAN`` are widened around their centre.

    Raises:
        ConfigError: no samples.
        InputError: a sample lacks one of ``spec``'s joints or holds NaN or Inf.
    """
    if len(samples) < 1:
        raise ConfigError('training samples: none given; record demonstrations first')
    states, rows = [], []
    for index in range(len(samples)):
        sample = samples[index]
        positions = sample.observation.positions_for(spec.joint_names)
        states.append(positions)
        rows.append(model_space_actions(sample.actions, positions, action_space))
    return TokenNormalization(state=_quantile_stats(np.stack(states)),
                              actions=_quantile_stats(np.concatenate(rows)),
                              action_space=action_space)


def _padded(rows: list[NDArray[np.int64]], value: int) -> torch.Tensor:
    length = max(len(row) for row in rows)
    table = np.full((len(rows), length), value, dtype=np.int64)
    for index, row in enumerate(rows):
        table[index, :len(row)] = row
    return torch.from_numpy(table)


def make_sequences(samples: SampleSource, prompt: PromptEncoder, targets: TargetEncoder, *,
                   spec: PolicySpec) -> SequenceTensors:
    """Run every sample through the prompt and target encoders and stack the sequences.

    Raises:
        ConfigError: no samples, or a chunk that is not (chunk_length, J).
        InputError: an observation the prompt encoder refuses.
    """
    if len(samples) < 1:
        raise ConfigError('training samples: none given; record demonstrations first')
    pad_id = prompt.tokenizer.pad_token_id
    assert pad_id is not None, 'the tokenizer has a <pad> token'
    shape = (spec.chunk_length, len(spec.joint_names))
    sequences, labels, types, images = [], [], [], []
    for index in range(len(samples)):
        sample = samples[index]
        if sample.actions.shape != shape:
            raise ConfigError(
                f'training sample {index}: actions {sample.actions.shape!r}, expected {shape}')
        observation = sample.observation
        prompt_ids = prompt.prompt_ids(observation)
        target = targets.target_ids(sample.actions,
                                    observation.positions_for(spec.joint_names))
        sequences.append(np.concatenate([prompt_ids, target]))
        labels.append(np.concatenate([np.full(len(prompt_ids), IGNORE_INDEX), target]))
        types.append(np.concatenate([np.zeros(len(prompt_ids)), np.ones(len(target))]))
        images.append(prompt.images(observation))
    input_ids = _padded(sequences, int(pad_id))
    return SequenceTensors(
        input_ids=input_ids,
        attention_mask=_padded([np.ones(len(row), dtype=np.int64) for row in sequences], 0),
        token_type_ids=_padded([row.astype(np.int64) for row in types], 1),
        labels=_padded(labels, IGNORE_INDEX), images=torch.from_numpy(np.stack(images)))

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Training samples rewritten as offsets from the observed joints, and what statistics see."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from vla_ros.core.errors import ConfigError
from vla_ros.core.training_samples import (
    ConcatenatedSamples,
    ObservedJointDeltas,
    state_and_action_rows,
)
from vla_ros.core.types import Observation

JOINTS = ('shoulder', 'elbow', 'finger')
BLACK = np.zeros((8, 8, 3), dtype=np.uint8)


@dataclass(frozen=True)
class Sample:
    """A recorded sample's three fields."""

    observation: Observation
    actions: np.ndarray
    is_padding: np.ndarray


def _sample(positions: list[float], actions: list[list[float]], padding: int = 0) -> Sample:
    rows = len(actions)
    return Sample(
        observation=Observation(images={'front': BLACK}, joint_names=JOINTS,
                                joint_positions=np.array(positions), instruction='reach'),
        actions=np.array(actions, dtype=np.float64),
        is_padding=np.arange(rows) >= rows - padding)


SAMPLES = [
    _sample([0.1, -0.2, 0.0], [[0.2, -0.1, 0.0], [0.4, 0.1, 0.0], [0.6, 0.3, 0.0]]),
    _sample([1.0, 1.0, 0.5], [[1.5, 0.5, 0.5], [2.0, 0.0, 0.5], [2.0, 0.0, 0.5]], padding=1),
]


class Samples:
    """A list read as a sample source."""

    def __init__(self, samples: list[Sample]) -> None:
        self._samples = samples

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> Sample:
        return self._samples[index]


def test_every_chunk_row_counts_from_the_sample_observed_joints():
    deltas = ObservedJointDeltas(Samples(SAMPLES))

    assert len(deltas) == 2
    first, second = deltas[0], deltas[1]
    np.testing.assert_allclose(first.actions, [[0.1, 0.1, 0.0], [0.3, 0.3, 0.0],
                                               [0.5, 0.5, 0.0]], atol=1e-12)
    np.testing.assert_allclose(second.actions, [[0.5, -0.5, 0.0], [1.0, -1.0, 0.0],
                                                [1.0, -1.0, 0.0]], atol=1e-12)
    assert second.observation is SAMPLES[1].observation
    np.testing.assert_array_equal(second.is_padding, [False, False, True])
    np.testing.assert_array_equal(SAMPLES[0].actions[0], [0.2, -0.1, 0.0])  # not modified


def test_a_chunk_wider_than_the_observed_joints_is_refused_naming_the_sample():
    wide = _sample([0.0, 0.0, 0.0], [[0.0, 0.0, 0.0, 1.0]])

    with pytest.raises(ConfigError, match=r"^training sample 1: chunk of shape \(1, 4\), "
                                          r"expected \(L, 3\) for joints \['shoulder', "):
        ObservedJointDeltas(Samples([SAMPLES[0], wide]))[1]


def test_statistics_take_first_rows_or_every_real_row():
    samples = ConcatenatedSamples([ObservedJointDeltas(Samples(SAMPLES))])

    states, first_rows = state_and_action_rows(samples, JOINTS)
    _, every_row = state_and_action_rows(samples, JOINTS, every_row=True)

    np.testing.assert_allclose(states, [[0.1, -0.2, 0.0], [1.0, 1.0, 0.5]])
    np.testing.assert_allclose(first_rows, [[0.1, 0.1, 0.0], [0.5, -0.5, 0.0]], atol=1e-12)
    # Three rows of the first chunk, two of the second: its padding row is left out.
    np.testing.assert_allclose(every_row, [[0.1, 0.1, 0.0], [0.3, 0.3, 0.0], [0.5, 0.5, 0.0],
                                           [0.5, -0.5, 0.0], [1.0, -1.0, 0.0]], atol=1e-12)

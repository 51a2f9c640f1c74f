# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Warm-up runs one inference and tolerates a policy that rejects the synthetic scene."""

from __future__ import annotations

import numpy as np
import pytest

from vla_ros.core.errors import InputError, PolicyOutputError
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.core.warm_up import warm_up
from vla_ros.policies.base import PolicySpec

SPEC = PolicySpec(joint_names=('a', 'b'), camera_names=('front',), image_height=8,
                  image_width=8, chunk_length=2, dt_s=0.1)


class _RecordingPolicy:
    """A deterministic test policy that records what it saw and answers with ``answer``."""

    def __init__(self, answer: Exception | None) -> None:
        self.seen: list[Observation] = []
        self._answer = answer

    @property
    def spec(self) -> PolicySpec:
        return SPEC

    def infer(self, observation: Observation) -> ActionChunk:
        self.seen.append(observation)
        if self._answer is not None:
            raise self._answer
        return ActionChunk(SPEC.joint_names, np.zeros((2, 2)), SPEC.dt_s)


def test_warm_up_infers_once_on_a_scene_that_fits_the_spec():
    policy = _RecordingPolicy(answer=None)

    assert warm_up(policy) >= 0.0

    (observation,) = policy.seen
    assert observation.images['front'].shape == (8, 8, 3)
    assert observation.joint_names == ('a', 'b')


def test_a_policy_output_error_during_warm_up_is_tolerated():
    policy = _RecordingPolicy(answer=PolicyOutputError('malformed FAST sequence'))

    assert warm_up(policy) >= 0.0
    assert len(policy.seen) == 1


def test_an_input_error_during_warm_up_still_fails():
    with pytest.raises(InputError, match='camera'):
        warm_up(_RecordingPolicy(answer=InputError('missing camera')))

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Per-joint semantics: absolute, delta and normalized-gripper values become absolute targets.

``EchoPolicy`` is a small real policy (it implements the Policy protocol deterministically: it
returns the rows it was built with and remembers the joint positions it was shown), so the test
can check both directions of the wrapper: what the policy sees and what leaves it.
"""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose
import pytest

from vla_ros.core.config import CommandKind, JointCommandConfig
from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.execution.joint_semantics import JointSemantics, JointSemanticsPolicy, wrap_policy
from vla_ros.policies.base import PolicySpec

JOINTS = ('shoulder', 'elbow', 'finger')
DELTA = JointCommandConfig('elbow', CommandKind.DELTA)
#: A finger that is closed at 0.01 m and open at 0.05 m.
GRIPPER = JointCommandConfig('finger', CommandKind.NORMALIZED_GRIPPER, closed_position=0.01,
                             open_position=0.05)
MEASURED = np.array([0.3, -0.5, 0.02])


class EchoPolicy:
    """Returns fixed rows as its chunk and records the observed joint positions."""

    def __init__(self, rows: list[list[float]], joints: tuple[str, ...] = JOINTS) -> None:
        self.rows = np.array(rows, dtype=np.float64)
        self.joints = joints
        self.seen: list[np.ndarray] = []
        self._spec = PolicySpec(joint_names=JOINTS, camera_names=(), image_height=4,
                                image_width=4, chunk_length=len(rows), dt_s=0.1)

    @property
    def spec(self) -> PolicySpec:
        """Three joints, no camera."""
        return self._spec

    def infer(self, observation: Observation) -> ActionChunk:
        """The fixed rows, under ``joints`` (the spec's unless the test says otherwise)."""
        self.seen.append(observation.joint_positions.copy())
        return ActionChunk(self.joints, self.rows, dt_s=self._spec.dt_s)


def _observation(names: tuple[str, ...] = JOINTS,
                 positions: np.ndarray = MEASURED) -> Observation:
    return Observation(images={}, joint_names=names, joint_positions=positions, instruction='go')


@pytest.mark.parametrize(('commands', 'values', 'expected'), [
    ((), [[0.1, 0.2, 0.03]], [[0.1, 0.2, 0.03]]),
    ((DELTA,), [[0.1, 0.2, 0.03], [0.1, -0.3, 0.03]], [[0.1, -0.3, 0.03], [0.1, -0.8, 0.03]]),
    ((GRIPPER,), [[0.1, 0.2, 0.0], [0.1, 0.2, 0.25], [0.1, 0.2, 1.0]],
     [[0.1, 0.2, 0.01], [0.1, 0.2, 0.02], [0.1, 0.2, 0.05]]),
    ((GRIPPER,), [[0.1, 0.2, -0.4], [0.1, 0.2, 1.7]], [[0.1, 0.2, 0.01], [0.1, 0.2, 0.05]]),
    ((DELTA, GRIPPER), [[0.0, 0.0, 0.5]], [[0.0, -0.5, 0.03]]),
], ids=['absolute-is-identity', 'delta-adds-the-measurement-to-every-step',
        'gripper-maps-0-1-onto-closed-open', 'gripper-clips-outside-0-1', 'mixed'])
def test_values_become_absolute_targets(commands, values, expected):
    semantics = JointSemantics(JOINTS, commands)

    targets = semantics.to_absolute(np.array(values), MEASURED)

    assert_allclose(targets, expected, atol=1e-12)


def test_inverted_gripper_range_maps_one_to_open():
    closes_upward = JointCommandConfig('finger', CommandKind.NORMALIZED_GRIPPER,
                                       closed_position=0.8, open_position=0.0)
    semantics = JointSemantics(JOINTS, (closes_upward,))

    targets = semantics.to_absolute(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), MEASURED)

    assert_allclose(targets[:, 2], [0.8, 0.0])


def test_policy_sees_its_gripper_normalized_and_returns_absolute_targets():
    inner = EchoPolicy([[0.4, 0.1, 0.75], [0.5, 0.2, 0.0]])
    policy = JointSemanticsPolicy(inner, (DELTA, GRIPPER))

    chunk = policy.infer(_observation())

    assert_allclose(inner.seen[0], [0.3, -0.5, 0.25])  # (0.02 - 0.01) / 0.04: a quarter open
    assert chunk.joint_names == JOINTS and chunk.dt_s == 0.1
    assert_allclose(chunk.positions, [[0.4, -0.4, 0.04], [0.5, -0.3, 0.01]])


def test_policy_reads_joints_by_name_from_a_reordered_observation():
    inner = EchoPolicy([[0.0, 0.1, 1.0]])
    policy = JointSemanticsPolicy(inner, (DELTA, GRIPPER))
    shuffled = _observation(('finger', 'shoulder', 'elbow'), np.array([0.02, 0.3, -0.5]))

    chunk = policy.infer(shuffled)

    assert_allclose(inner.seen[0], [0.3, -0.5, 0.25])
    assert_allclose(chunk.positions, [[0.0, -0.4, 0.05]])


def test_observation_without_a_policy_joint_is_an_input_error():
    policy = JointSemanticsPolicy(EchoPolicy([[0.0, 0.0, 0.0]]), (DELTA,))

    with pytest.raises(InputError, match=r"lacks joints \['finger'\]"):
        policy.infer(_observation(('shoulder', 'elbow'), MEASURED[:2]))


def test_chunk_with_other_joints_is_a_policy_output_error():
    policy = JointSemanticsPolicy(EchoPolicy([[0.0, 0.0, 0.0]], ('shoulder', 'elbow', 'toe')),
                                  (GRIPPER,))

    with pytest.raises(PolicyOutputError, match=r"returned joints .*'toe'"):
        policy.infer(_observation())


def test_semantics_for_a_joint_the_policy_does_not_drive_is_a_config_error():
    wrist = JointCommandConfig('wrist', CommandKind.DELTA)

    with pytest.raises(ConfigError, match=r"joints \['wrist'\] are not driven by the policy"):
        JointSemantics(JOINTS, (DELTA, wrist))


def test_wrap_keeps_an_all_absolute_policy_as_it_is():
    inner = EchoPolicy([[0.0, 0.0, 0.0]])

    assert wrap_policy(inner, ()) is inner
    assert wrap_policy(inner, (JointCommandConfig('elbow'),)) is inner
    assert isinstance(wrap_policy(inner, (GRIPPER,)), JointSemanticsPolicy)

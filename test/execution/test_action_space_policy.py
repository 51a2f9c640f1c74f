# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""ActionSpacePolicy: an end-effector policy seen from outside as a joint-target policy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.testing import assert_allclose
from numpy.typing import NDArray
import pytest

from vla_ros.core.action_space_config import parse_action_space
from vla_ros.core.errors import InputError, PolicyOutputError
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.execution.action_space_policy import ActionSpacePolicy
from vla_ros.execution.action_spaces import ActionSpaceConverter
from vla_ros.execution.conversion_report import ConversionReport
from vla_ros.execution.kinematics import ArmKinematics
from vla_ros.policies.base import PolicySpec

ROOT = Path(__file__).resolve().parents[2]
URDF = ROOT / 'urdf' / 'tabletop_arm.urdf'
ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
JOINTS = (*ARM, 'gripper_joint')
HOME = np.array([0.0, 0.4, 1.7, 0.0, 1.04, 0.0, 0.04])
CONVERTER = ActionSpaceConverter(
    parse_action_space({'arm_controller': {'type': 'ee_delta', 'frame': 'ee_link'},
                        'gripper_controller': {'type': 'gripper'}},
                       controllers={'arm_controller': ARM,
                                    'gripper_controller': ('gripper_joint',)}),
    urdf_path=URDF)


@dataclass
class FixedChunkPolicy:
    """A policy that always answers the same raw chunk (a stand-in model made in the test)."""

    rows: NDArray[np.float64]
    names: tuple[str, ...] = JOINTS

    @property
    def spec(self) -> PolicySpec:
        """The fixed chunk's shape."""
        return PolicySpec(joint_names=self.names, camera_names=('front',), image_height=64,
                          image_width=64, chunk_length=len(self.rows), dt_s=0.1)

    def infer(self, observation: Observation) -> ActionChunk:
        """The next raw chunk."""
        return ActionChunk(self.names, self.rows, 0.1)


def observation(names: tuple[str, ...] = JOINTS,
                positions: NDArray[np.float64] = HOME) -> Observation:
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    return Observation(images={'front': image}, joint_names=names, joint_positions=positions,
                       instruction='touch the red cube')


def test_wrapped_policy_outputs_joint_targets_that_move_the_tool_as_asked() -> None:
    rows = np.array([[0.01, 0.0, -0.02, 0.0, 0.0, 0.1, 0.5],
                     [0.01, 0.0, -0.02, 0.0, 0.0, 0.1, 0.0]])
    reports: list[ConversionReport] = []
    policy = ActionSpacePolicy(FixedChunkPolicy(rows), CONVERTER, on_report=reports.append)

    chunk = policy.infer(observation())

    assert policy.spec == PolicySpec(joint_names=JOINTS, camera_names=('front',),
                                     image_height=64, image_width=64, chunk_length=2, dt_s=0.1)
    assert chunk.joint_names == JOINTS and chunk.dt_s == 0.1
    kinematics = ArmKinematics(URDF, ARM, 'ee_link')
    start = kinematics.frame_pose(HOME[:6])
    end = kinematics.frame_pose(chunk.positions[1, :6])
    assert_allclose(end.position_m - start.position_m, [0.02, 0.0, -0.04], atol=1e-7)
    yaw = np.array([[np.cos(0.2), -np.sin(0.2), 0.0], [np.sin(0.2), np.cos(0.2), 0.0],
                    [0.0, 0.0, 1.0]])
    assert_allclose(end.rotation, yaw @ start.rotation, atol=1e-7)
    assert_allclose(chunk.positions[:, 6], [0.02, 0.0])
    assert reports == [policy.last_report]
    assert (reports[0].clamped_values, reports[0].unreachable_steps) == (0, 0)
    assert reports[0].max_position_error_m < 1e-9 and not reports[0].corrected


def test_reads_joints_by_name_in_any_order() -> None:
    rows = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    policy = ActionSpacePolicy(FixedChunkPolicy(rows), CONVERTER)
    order = [6, 3, 0, 1, 5, 2, 4]

    chunk = policy.infer(observation(tuple(JOINTS[i] for i in order), HOME[order]))

    assert_allclose(chunk.positions[0], HOME, atol=1e-9)


def test_corrections_are_reported_with_the_chunk() -> None:
    rows = np.array([[0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 2.0]])
    policy = ActionSpacePolicy(FixedChunkPolicy(rows), CONVERTER)

    policy.infer(observation())

    report = policy.last_report
    assert report.clamped_values == 2  # the 0.5 m step (cut to 5 cm) and the gripper's 2.0
    assert report.max_position_error_m == pytest.approx(0.45, abs=1e-6)
    assert report.summary().startswith('action conversion: 2 values clamped')


def test_a_policy_of_the_wrong_width_is_refused() -> None:
    narrow = FixedChunkPolicy(np.zeros((1, 6)), names=ARM)

    with pytest.raises(PolicyOutputError, match='outputs 6 action columns, but the declared '
                                                'action space has 7'):
        ActionSpacePolicy(narrow, CONVERTER)


def test_an_observation_without_the_arm_joints_is_an_input_error() -> None:
    policy = ActionSpacePolicy(FixedChunkPolicy(np.zeros((1, 7))), CONVERTER)

    with pytest.raises(InputError, match=r"lacks joints \['gripper_joint'\]"):
        policy.infer(observation(ARM, HOME[:6]))

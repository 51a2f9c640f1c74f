# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The optional MoveIt IK path says clearly when moveit_py is absent."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from vla_ros.core.action_space_config import parse_action_space
from vla_ros.core.errors import ConfigError
from vla_ros.ros.moveit_ik import make_ik_solvers

URDF = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_arm.urdf'
CONTROLLERS = {'arm_controller': ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6'),
               'gripper_controller': ('gripper_joint',)}
MOVEIT_ABSENT = importlib.util.find_spec('moveit') is None


def declaration(ik: str) -> dict[str, dict[str, str]]:
    return {'arm_controller': {'type': 'ee_delta', 'frame': 'ee_link', 'ik': ik},
            'gripper_controller': {'type': 'gripper'}}


@pytest.mark.skipif(not MOVEIT_ABSENT, reason='moveit_py is installed here; nothing is absent')
def test_moveit_declaration_without_moveit_py_is_a_clear_config_error() -> None:
    config = parse_action_space(declaration('moveit'), controllers=CONTROLLERS)

    with pytest.raises(ConfigError, match=r"ik: moveit needs moveit_py \(Python module "
                                          r"'moveit.planning', ROS package ros-<distro>-moveit-py"
                                          r"\), which is not installed here"):
        make_ik_solvers(config, urdf_path=URDF)


def test_pinocchio_declarations_never_load_moveit() -> None:
    config = parse_action_space(declaration('pinocchio'), controllers=CONTROLLERS)

    assert make_ik_solvers(config, urdf_path=URDF) == {}

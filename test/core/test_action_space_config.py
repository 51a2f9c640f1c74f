# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The action_space section: declarations parse into typed groups; mistakes name their field."""

from __future__ import annotations

from typing import Any

import pytest

from vla_ros.core.action_space_config import (
    ActionSpace,
    DeltaReference,
    EndEffectorGroup,
    GripperGroup,
    IkBackend,
    JointGroup,
    parse_action_space,
    RotationRepresentation,
)
from vla_ros.core.errors import ConfigError

ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
CONTROLLERS = {'arm_controller': ARM, 'gripper_controller': ('gripper_joint',)}
GRIPPER = {'type': 'gripper'}


def test_openvla_style_declaration_parses_with_defaults() -> None:
    config = parse_action_space(
        {'arm_controller': {'type': 'ee_delta', 'frame': 'ee_link'},
         'gripper_controller': GRIPPER}, controllers=CONTROLLERS)

    arm, gripper = config.groups
    assert arm == EndEffectorGroup(
        controller='arm_controller', joints=ARM, frame='ee_link', space=ActionSpace.EE_DELTA,
        reference_frame=None, rotation=RotationRepresentation.EULER,
        delta_reference=DeltaReference.PREVIOUS_ROW, ik_backend=IkBackend.PINOCCHIO)
    assert gripper == GripperGroup(controller='gripper_controller', joint='gripper_joint')
    assert config.width == 7
    assert config.joint_names == (*ARM, 'gripper_joint')


def test_every_option_is_read() -> None:
    config = parse_action_space(
        {'gripper_controller': {'type': 'gripper', 'joint': 'gripper_joint',
                                'closed_position': 0.01, 'open_position': 0.03,
                                'normalised_closed': 1.0, 'normalised_open': -1.0},
         'arm_controller': {'type': 'ee_pose', 'frame': 'ee_link', 'reference_frame': 'link6',
                            'rotation': 'rotation_6d', 'ik': 'moveit', 'moveit_group': 'arm',
                            'max_linear_speed_m_s': 0.2, 'max_angular_speed_rad_s': 1.0,
                            'rest_positions': [0, 0.4, 1.7, 0, 1.04, 0]}},
        controllers=CONTROLLERS)

    gripper, arm = config.groups
    assert gripper == GripperGroup('gripper_controller', 'gripper_joint', 0.01, 0.03, 1.0, -1.0)
    assert isinstance(arm, EndEffectorGroup)
    assert (arm.space, arm.reference_frame, arm.rotation, arm.ik_backend, arm.moveit_group) == (
        ActionSpace.EE_POSE, 'link6', RotationRepresentation.ROTATION_6D, IkBackend.MOVEIT, 'arm')
    assert (arm.max_linear_speed_m_s, arm.max_angular_speed_rad_s) == (0.2, 1.0)
    assert arm.rest_positions == (0, 0.4, 1.7, 0, 1.04, 0)
    assert config.width == 10
    assert config.joint_names == ('gripper_joint', *ARM)


@pytest.mark.parametrize(('space', 'extra', 'width'), [
    ('joint_position', {}, 6),
    ('joint_delta', {'delta_reference': 'previous_row'}, 6),
    ('joint_velocity', {'joints': ['joint1', 'joint3']}, 2),
], ids=['position', 'delta', 'velocity_subset'])
def test_joint_space_declarations(space: str, extra: dict[str, Any], width: int) -> None:
    config = parse_action_space({'arm_controller': {'type': space, **extra},
                                 'gripper_controller': GRIPPER}, controllers=CONTROLLERS)

    arm = config.groups[0]
    assert isinstance(arm, JointGroup)
    assert arm.space is ActionSpace(space)
    assert arm.width == width


def _arm(**fields: Any) -> dict[str, Any]:
    return {'arm_controller': {'type': 'ee_delta', 'frame': 'ee_link', **fields},
            'gripper_controller': GRIPPER}


@pytest.mark.parametrize(('raw', 'match'), [
    ([], 'expected a non-empty mapping'),
    ({'arm_controller': {'type': 'joint_position'}}, r"undeclared controllers \['gripper_"),
    ({**_arm(), 'wrist_controller': GRIPPER}, r"unknown controllers \['wrist_controller'\]"),
    (_arm(type='cartesian'), r"action_space.arm_controller.type: 'cartesian', expected one of"),
    ({'arm_controller': {'type': 'ee_delta'}, 'gripper_controller': GRIPPER},
     r'action_space.arm_controller.frame: missing required key'),
    (_arm(rotation='quaternion'), r'action_space.arm_controller.rotation: .quaternion.'),
    (_arm(ik='trac_ik'), r'action_space.arm_controller.ik: .trac_ik.'),
    (_arm(delta_reference='start'), r'action_space.arm_controller.delta_reference'),
    (_arm(gain=2.0), r"unknown keys \['gain'\] for type 'ee_delta'"),
    (_arm(type='ee_pose', delta_reference='observation'), r"unknown keys \['delta_reference'\]"),
    (_arm(type='ee_pose', rotation='none'), 'ee_pose needs a rotation'),
    (_arm(max_linear_speed_m_s=0.0), r'max_linear_speed_m_s: 0.0, expected > 0'),
    (_arm(max_angular_speed_rad_s='fast'), r'max_angular_speed_rad_s: .fast.'),
    (_arm(rest_positions=[0.0, 1.0]), r'rest_positions: \(0.0, 1.0\), expected 6 finite'),
    (_arm(joints=['joint1', 'gripper_joint']), r"joints: \['gripper_joint'\] are not joints of"),
    ({'arm_controller': {'type': 'joint_position'},
      'gripper_controller': {'type': 'gripper', 'joint': 'joint1'}},
     r"gripper_controller.joint: 'joint1', expected one of \['gripper_joint'\]"),
    ({'arm_controller': {'type': 'joint_position'},
      'gripper_controller': {'type': 'gripper', 'normalised_open': 0.0}},
     'expected two different finite numbers'),
    ({'arm_controller': {'type': 'joint_position'},
      'gripper_controller': {'type': 'gripper', 'open_position': 'wide'}},
     r"open_position: 'wide', expected a finite number"),
    ({'arm_controller': 'joint_position', 'gripper_controller': GRIPPER},
     'expected a mapping with a type'),
], ids=['not_a_mapping', 'undeclared', 'unknown_controller', 'unknown_type', 'no_frame',
        'unknown_rotation', 'unknown_ik', 'unknown_reference', 'unknown_key',
        'pose_has_no_reference', 'pose_without_rotation', 'zero_speed', 'text_speed',
        'short_rest_pose', 'foreign_joint', 'gripper_on_arm_joint', 'equal_normalised',
        'text_position', 'declaration_not_a_mapping'])
def test_bad_declaration_names_the_field(raw: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_action_space(raw, controllers=CONTROLLERS)

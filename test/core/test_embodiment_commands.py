# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``embodiment.commands``: the two-arm semantics load; each broken one names its field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from vla_ros.core.config import CommandKind, JointCommandConfig, load_config, parse_config
from vla_ros.core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
TWO_ARM_ROOT = REPO_ROOT / 'test' / 'fixtures' / 'two_arm'  # a test fixture, not shipped
TWO_ARM = TWO_ARM_ROOT / 'config' / 'two_arm.yaml'
TABLETOP = REPO_ROOT / 'config' / 'tabletop_arm.yaml'


def _two_arm_raw() -> dict[str, Any]:
    return yaml.safe_load(TWO_ARM.read_text())


def test_two_arm_config_loads_four_controllers_and_gripper_semantics():
    embodiment = load_config(TWO_ARM).embodiment

    assert dict(embodiment.controllers) == {
        'left_arm_controller': ('left_joint1', 'left_joint2', 'left_joint3', 'left_joint4'),
        'right_arm_controller': ('right_joint1', 'right_joint2', 'right_joint3', 'right_joint4'),
        'left_gripper_controller': ('left_gripper_joint',),
        'right_gripper_controller': ('right_gripper_joint',)}
    assert embodiment.commands == tuple(
        JointCommandConfig(f'{side}_gripper_joint', CommandKind.NORMALIZED_GRIPPER,
                           closed_position=0.0, open_position=0.04)
        for side in ('left', 'right'))
    assert embodiment.urdf == TWO_ARM_ROOT / 'urdf' / 'two_arm.urdf'


def test_commands_are_optional_and_absent_means_absolute():
    assert load_config(TABLETOP).embodiment.commands == ()


def test_delta_and_absolute_kinds_need_no_range():
    raw = _two_arm_raw()
    raw['embodiment']['commands'] = {'left_joint1': {'kind': 'delta'},
                                     'right_joint1': {'kind': 'absolute'}}

    commands = parse_config(raw, root=REPO_ROOT).embodiment.commands

    assert [(c.joint, c.kind) for c in commands] == [('left_joint1', CommandKind.DELTA),
                                                     ('right_joint1', CommandKind.ABSOLUTE)]


@pytest.mark.parametrize(('spec', 'message'), [
    ({'kind': 'velocity'}, r"commands\.left_gripper_joint\.kind: 'velocity', expected one of "
                           r"\['absolute', 'delta', 'normalized_gripper'\]"),
    ({'closed_position': 0.0}, r'commands\.left_gripper_joint: .* expected a mapping with kind'),
    ({'kind': 'delta', 'speed': 1.0}, r'commands\.left_gripper_joint: .*keys within'),
    ({'kind': 'normalized_gripper', 'closed_position': 0.0},
     r'left_gripper_joint: closed_position/open_position \(0\.0, None\), expected two different'),
    ({'kind': 'normalized_gripper', 'closed_position': 0.04, 'open_position': 0.04},
     r'expected two different finite numbers'),
    ({'kind': 'normalized_gripper', 'closed_position': 0.0, 'open_position': float('nan')},
     r'expected two different finite numbers'),
    ({'kind': 'delta', 'closed_position': 0.0, 'open_position': 0.04},
     r"left_gripper_joint: .* apply only to kind 'normalized_gripper'"),
], ids=['unknown-kind', 'no-kind', 'unknown-key', 'half-a-range', 'empty-range', 'nan-range',
        'range-on-delta'])
def test_broken_command_names_its_field(spec, message):
    raw = _two_arm_raw()
    raw['embodiment']['commands'] = {'left_gripper_joint': spec}

    with pytest.raises(ConfigError, match=message):
        parse_config(raw, root=REPO_ROOT)


def test_command_for_an_unknown_joint_is_an_error():
    raw = copy.deepcopy(_two_arm_raw())
    raw['embodiment']['commands']['left_thumb_joint'] = {'kind': 'delta'}

    with pytest.raises(ConfigError, match=r"embodiment\.commands: joints .*'left_thumb_joint'.* "
                                          r'within embodiment\.joints'):
        parse_config(raw, root=REPO_ROOT)


def test_commands_must_be_a_mapping():
    raw = _two_arm_raw()
    raw['embodiment']['commands'] = ['left_gripper_joint']

    with pytest.raises(ConfigError, match=r'embodiment\.commands: expected a mapping'):
        parse_config(raw, root=REPO_ROOT)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Start-up checks of a policy node's configure step, before any model is loaded."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from vla_ros.core.config import load_config, parse_config
from vla_ros.core.errors import ConfigError
from vla_ros.core.types import Observation
from vla_ros.core.warm_up import warm_up
from vla_ros.execution.policy_setup import check_policy_fits, prepare_policy
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.flow.checkpoint import (
    create_random_checkpoint,
    DEFAULT_HOME_POSITIONS,
    DEFAULT_SPEC,
)
from vla_ros.policies.registry import load_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
TWO_ARM = load_config(REPO_ROOT / 'test' / 'fixtures' / 'two_arm' / 'config' / 'two_arm.yaml')
JOINTS = TWO_ARM.embodiment.joints


def _spec(joints: tuple[str, ...] = JOINTS,
          cameras: tuple[str, ...] = ('head', 'left_wrist')) -> PolicySpec:
    return PolicySpec(joint_names=joints, camera_names=cameras, image_height=64, image_width=64,
                      chunk_length=4, dt_s=0.1)


def test_a_policy_in_any_joint_order_fits():
    check_policy_fits(TWO_ARM.embodiment, _spec(tuple(reversed(JOINTS))))


@pytest.mark.parametrize(('spec', 'message'), [
    (_spec(cameras=('head', 'chest')), r"the policy reads cameras \['chest'\] that "
                                       r'embodiment\.cameras does not define'),
    (_spec(JOINTS[:-1]), r"the policy drives joints .* but the controllers take .*"
                         r"'right_gripper_joint'"),
    (_spec((*JOINTS, 'torso_joint')), r"the policy drives joints .*'torso_joint'"),
], ids=['unknown-camera', 'joint-not-driven', 'extra-joint'])
def test_policy_that_does_not_fit_is_a_config_error(spec, message):
    with pytest.raises(ConfigError, match=message):
        check_policy_fits(TWO_ARM.embodiment, spec)


def test_joint_missing_from_the_urdf_fails_before_loading_the_policy(tmp_path):
    renamed = tuple('left_elbow' if joint == 'left_joint3' else joint for joint in JOINTS)
    controllers = {name: tuple('left_elbow' if j == 'left_joint3' else j for j in joints)
                   for name, joints in TWO_ARM.embodiment.controllers.items()}
    embodiment = dataclasses.replace(TWO_ARM.embodiment, joints=renamed, controllers=controllers)
    policy = dataclasses.replace(TWO_ARM.policy, checkpoint=tmp_path / 'no_checkpoint')
    config = dataclasses.replace(TWO_ARM, embodiment=embodiment, policy=policy)

    with pytest.raises(ConfigError, match=r"embodiment\.joints: joints \['left_elbow'\] are "
                                          r'not in the URDF'):
        prepare_policy(config, load=load_policy)


def _tabletop_with_ee_actions(tmp_path: Path, *, commands: dict[str, object] | None = None):
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw['action_space'] = {
        'arm_controller': {'type': 'ee_delta', 'frame': 'ee_link', 'rotation': 'euler'},
        'gripper_controller': {'type': 'gripper', 'joint': 'gripper_joint'}}
    if commands is not None:
        raw['embodiment']['commands'] = commands
    raw['policy']['family'] = 'flow'
    raw['policy']['checkpoint'] = str(create_random_checkpoint(
        tmp_path / 'flow', DEFAULT_SPEC, seed=0, home_positions=(0.0,) * 7,
        motion_std=(0.01,) * 6 + (0.2,)))
    return parse_config(raw, root=REPO_ROOT)


def test_an_end_effector_policy_is_converted_to_joint_targets_within_limits(tmp_path):
    prepared = prepare_policy(_tabletop_with_ee_actions(tmp_path), load=load_policy)
    home = np.array(DEFAULT_HOME_POSITIONS)
    black = np.zeros((64, 64, 3), dtype=np.uint8)

    chunk = prepared.policy.infer(Observation(
        images={'front': black, 'wrist': black}, joint_names=DEFAULT_SPEC.joint_names,
        joint_positions=home, instruction='touch the red cube'))

    assert chunk.joint_names == DEFAULT_SPEC.joint_names  # joint space, not EE columns
    limits = prepared.limits.subset(chunk.joint_names)
    assert np.all(chunk.positions >= limits.lower) and np.all(chunk.positions <= limits.upper)
    assert np.abs(chunk.positions[0, :6] - home[:6]).max() < 0.2  # small EE deltas, small moves


def test_action_space_and_non_absolute_joint_commands_together_are_refused(tmp_path):
    config = _tabletop_with_ee_actions(tmp_path, commands={'joint1': {'kind': 'delta'}})

    with pytest.raises(ConfigError, match='embodiment.commands and action_space'):
        prepare_policy(config, load=load_policy)


def test_the_prepared_policy_says_which_inference_path_runs(tmp_path):
    # The node's configure log prints this: the default flow policy on the CPU runs our
    # sampler eagerly (SamplerBackend.default_for), also behind an action-space wrapper.
    default = prepare_policy(load_config(REPO_ROOT / 'config' / 'tabletop_arm.yaml'),
                             load=load_policy)
    wrapped = prepare_policy(_tabletop_with_ee_actions(tmp_path), load=load_policy)

    assert default.inference_path == 'our sampler (eager) on cpu, float32'
    assert wrapped.inference_path == 'our sampler (eager) on cpu, float32'
    assert default.warm_up_ms > 0.0


def _tabletop_with_joint_delta_policy(tmp_path: Path, action_space: dict[str, object] | None):
    """The tabletop config running a random flow checkpoint marked as joint offsets."""
    checkpoint = create_random_checkpoint(
        tmp_path / 'flow', DEFAULT_SPEC, seed=0, home_positions=(0.0,) * 7,
        motion_std=(0.05,) * 6 + (0.005,))
    stored = json.loads((checkpoint / 'vla_ros_policy.json').read_text())
    (checkpoint / 'vla_ros_policy.json').write_text(
        json.dumps({**stored, 'action_rows': 'joint_delta'}))
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    if action_space is not None:
        raw['action_space'] = action_space
    raw['policy']['checkpoint'] = str(checkpoint)
    return parse_config(raw, root=REPO_ROOT)


DELTA = {'type': 'joint_delta', 'delta_reference': 'observation'}


def test_a_joint_delta_checkpoint_adds_its_rows_to_the_observed_joints(tmp_path):
    config = _tabletop_with_joint_delta_policy(
        tmp_path, {'arm_controller': DELTA, 'gripper_controller': DELTA})
    prepared = prepare_policy(config, load=load_policy)
    inner = load_policy('flow', config.policy.checkpoint)
    warm_up(inner)  # as prepare_policy did: the same noise draws from here on, the same rows
    observed = np.array([0.3, -0.4, 0.5, 0.2, -0.1, 0.6, 0.02])
    gray = np.full((64, 64, 3), 90, dtype=np.uint8)
    observation = Observation(images={'front': gray, 'wrist': gray},
                              joint_names=DEFAULT_SPEC.joint_names, joint_positions=observed,
                              instruction='touch the red cube')

    rows = inner.infer(observation).positions
    chunk = prepared.policy.infer(observation)

    assert inner.action_rows_from_observation is True  # type: ignore[attr-defined]
    limits = prepared.limits.subset(chunk.joint_names)
    expected = np.clip(rows + observed, limits.lower, limits.upper)
    np.testing.assert_allclose(chunk.positions, expected, atol=1e-9)
    assert np.abs(rows).max() > 1e-3  # offsets, so the two differ by the observation


@pytest.mark.parametrize(('action_space', 'message'), [
    (None, r'^the checkpoint outputs offsets from the observed joints \(trained with '
           r'--joint-deltas\): declare every controller \{type: joint_delta, '
           r'delta_reference: observation\} in an action_space section$'),
    ({'arm_controller': DELTA, 'gripper_controller': {'type': 'gripper',
                                                      'joint': 'gripper_joint'}},
     r'^action_space\.gripper_controller: the checkpoint outputs offsets'),
    ({'arm_controller': {'type': 'joint_delta', 'delta_reference': 'previous_row'},
      'gripper_controller': DELTA}, r'^action_space\.arm_controller: the checkpoint outputs'),
    ({'gripper_controller': DELTA, 'arm_controller': DELTA},
     r"^action_space: joints \['gripper_joint', 'joint1', .* in this order, but the "
     r"checkpoint's columns are \['joint1', "),
], ids=['no-action-space', 'gripper-type', 'previous-row', 'other-order'])
def test_a_joint_delta_checkpoint_behind_anything_else_is_refused(tmp_path, action_space,
                                                                   message):
    config = _tabletop_with_joint_delta_policy(tmp_path, action_space)

    with pytest.raises(ConfigError, match=message):
        prepare_policy(config, load=load_policy)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The deployment config: the shipped file loads, and every broken variant names its field."""

from __future__ import annotations

from collections.abc import Callable
import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from vla_ros.core.config import (
    CameraConfig,
    CameraCrop,
    ExecutionStrategy,
    load_config,
    parse_config,
    SCHEMA_VERSION,
)
from vla_ros.core.errors import ConfigError, InputError

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = REPO_ROOT / 'config' / 'tabletop_arm.yaml'
ARM = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')

Edit = Callable[[dict[str, Any]], None]


def _shipped_raw() -> dict[str, Any]:
    return yaml.safe_load(SHIPPED.read_text())


def _set(path: str, value: Any) -> Edit:
    """An edit that sets the dotted ``path`` of the raw config to ``value``."""
    def edit(raw: dict[str, Any]) -> None:
        *parents, key = path.split('.')
        target = raw
        for parent in parents:
            target = target[parent]
        target[key] = value
    return edit


def _delete(path: str) -> Edit:
    """An edit that removes the dotted ``path`` from the raw config."""
    def edit(raw: dict[str, Any]) -> None:
        *parents, key = path.split('.')
        target = raw
        for parent in parents:
            target = target[parent]
        del target[key]
    return edit


def test_shipped_config_loads_with_its_values() -> None:
    config = load_config(SHIPPED)
    embodiment = config.embodiment
    assert config.source == SHIPPED
    assert embodiment.name == 'tabletop_arm'
    assert embodiment.urdf == REPO_ROOT / 'urdf' / 'tabletop_arm.urdf'
    assert embodiment.urdf.is_file()
    assert embodiment.joints == (*ARM, 'gripper_joint')
    assert dict(embodiment.controllers) == {'arm_controller': ARM,
                                            'gripper_controller': ('gripper_joint',)}
    assert embodiment.joint_state_topic == 'joint_states'
    assert embodiment.cameras == (
        CameraConfig(name='front', topic='camera/front/image_raw', width=64, height=64),
        CameraConfig(name='wrist', topic='camera/wrist/image_raw', width=64, height=64))
    assert config.policy.family == 'flow'
    assert config.policy.checkpoint == REPO_ROOT / 'checkpoints' / 'flow' / 'reach'
    assert config.policy.device == 'cpu'
    assert config.policy.threads == 1
    assert config.execution.strategy is ExecutionStrategy.SYNC
    assert config.execution.horizon == 5
    assert (config.safety.stale_after_s, config.safety.max_step_rad) == (1.0, 0.2)
    assert config.sim is not None
    assert config.sim.mjcf == REPO_ROOT / 'urdf' / 'tabletop_scene.xml'
    assert config.sim.mjcf.is_file()
    assert (config.sim.seed, config.sim.publish_rate_hz, config.sim.camera_rate_hz) == (
        0, 50.0, 10.0)


def test_optional_sections_take_their_defaults() -> None:
    raw = _shipped_raw()
    for section in ('execution', 'safety', 'sim'):
        del raw[section]
    config = parse_config(raw, root=REPO_ROOT)
    assert config.execution.strategy is ExecutionStrategy.SYNC
    assert config.execution.horizon is None
    assert (config.safety.stale_after_s, config.safety.max_step_rad) == (1.0, 0.5)
    assert config.safety.joint_state_tolerance == 0.05
    assert config.sim is None


def test_absolute_paths_are_kept_and_relative_ones_resolve_against_root(tmp_path: Path) -> None:
    raw = _shipped_raw()
    raw['policy']['checkpoint'] = str(tmp_path / 'ckpt')
    config = parse_config(raw, root=tmp_path / 'pkg')
    assert config.policy.checkpoint == tmp_path / 'ckpt'
    assert config.embodiment.urdf == tmp_path / 'pkg' / 'urdf' / 'tabletop_arm.urdf'


BROKEN = [
    ('unknown-top-level-key', _set('robot', 'ur5'), r"unknown top-level keys \['robot'\]"),
    ('unknown-embodiment-key', _set('embodiment.base_frame', 'base_link'),
     r"^embodiment: unknown keys \['base_frame'\]"),
    ('unknown-camera-key', _set('embodiment.cameras.front.fps', 30),
     r'^embodiment\.cameras\.front: expected keys within'),
    ('unknown-policy-key', _set('policy.learning_rate', 1e-4),
     r"^policy: unknown keys \['learning_rate'\]"),
    ('unknown-execution-key', _set('execution.rate_hz', 10),
     r"^execution: unknown keys \['rate_hz'\]"),
    ('unknown-safety-key', _set('safety.max_speed', 1.0),
     r"^safety: unknown keys \['max_speed'\]"),
    ('unknown-sim-key', _set('sim.gravity', -9.81), r"^sim: unknown keys \['gravity'\]"),
    ('schema-version-2', _set('schema_version', 2),
     rf'^schema_version: 2, expected {SCHEMA_VERSION}'),
    ('schema-version-string', _set('schema_version', '1'), r"^schema_version: '1', expected 1"),
    ('schema-version-missing', _delete('schema_version'), r'^schema_version: None, expected 1'),
    ('controller-unknown-joint', _set('embodiment.controllers.gripper_controller', ['joint7']),
     r"^embodiment\.controllers\.gripper_controller: unknown joints \['joint7'\]"),
    ('joint-claimed-twice', _set('embodiment.controllers.gripper_controller',
                                 ['joint6', 'gripper_joint']),
     r"^embodiment\.controllers: joints \['joint6'\] claimed twice"),
    ('duplicate-joint', _set('embodiment.joints', ['joint1', 'joint1']),
     r"^embodiment\.joints: duplicates in \['joint1', 'joint1'\]"),
    ('negative-stale-after', _set('safety.stale_after_s', -1.0), r'stale_after_s=-1\.0'),
    ('zero-stale-after', _set('safety.stale_after_s', 0), r'stale_after_s=0'),
    ('nan-stale-after', _set('safety.stale_after_s', float('nan')), r'stale_after_s=nan'),
    ('text-stale-after', _set('safety.stale_after_s', 'soon'), r"stale_after_s='soon'"),
    ('zero-max-step', _set('safety.max_step_rad', 0.0), r'max_step_rad=0\.0'),
    ('negative-joint-tolerance', _set('safety.joint_state_tolerance', -0.01),
     r'^safety\.joint_state_tolerance: -0\.01, expected a number in \[0, 0\.5\]'),
    ('huge-joint-tolerance', _set('safety.joint_state_tolerance', 2.0),
     r'^safety\.joint_state_tolerance: 2\.0'),
    ('text-joint-tolerance', _set('safety.joint_state_tolerance', 'some'),
     r"^safety\.joint_state_tolerance: 'some'"),
    ('zero-threads', _set('policy.threads', 0), r'^policy\.threads: 0, expected an integer >= 1'),
    ('text-threads', _set('policy.threads', 'two'), r"^policy\.threads: 'two'"),
    ('bad-strategy', _set('execution.strategy', 'teleport'),
     r"^execution\.strategy: 'teleport', expected one of "
     r"\['sync', 'async', 'ensemble', 'rtc'\]"),
    ('zero-horizon', _set('execution.horizon', 0),
     r'^execution\.horizon: 0, expected an integer >= 1'),
    ('text-horizon', _set('execution.horizon', 'five'), r"^execution\.horizon: 'five'"),
    ('fractional-horizon', _set('execution.horizon', 2.5), r'^execution\.horizon: 2\.5'),
    ('missing-policy-section', _delete('policy'), r'^policy: missing section'),
    ('missing-embodiment-section', _delete('embodiment'), r'^embodiment: missing section'),
    ('policy-not-a-mapping', _set('policy', 'flow'), r"^policy: expected a mapping, got 'flow'"),
    ('missing-joints', _delete('embodiment.joints'), r'^embodiment\.joints: missing required key'),
    ('missing-family', _delete('policy.family'), r'^policy\.family: missing required key'),
    ('empty-urdf', _set('embodiment.urdf', ''), r'^embodiment\.urdf: expected a path string'),
    ('no-cameras', _set('embodiment.cameras', {}), r'^embodiment\.cameras: expected a non-empty'),
    ('zero-camera-width', _set('embodiment.cameras.wrist.width', 0),
     r'^embodiment\.cameras\.wrist\.width: 0, expected an integer >= 1'),
    ('text-camera-height', _set('embodiment.cameras.front.height', '64'),
     r"^embodiment\.cameras\.front\.height: '64', expected an integer >= 1"),
    ('sim-without-mjcf', _delete('sim.mjcf'), r'^sim\.mjcf: expected a path string, got None'),
    ('crop-outside-frame', _set('embodiment.cameras.front.crop',
                                {'x_offset': 40, 'y_offset': 0, 'width': 32, 'height': 32}),
     r'^embodiment\.cameras\.front\.crop: x 40\.\.72, y 0\.\.32 leaves the 64x64 frame'),
    ('crop-zero-width', _set('embodiment.cameras.front.crop',
                             {'x_offset': 0, 'y_offset': 0, 'width': 0, 'height': 8}),
     r'^embodiment\.cameras\.front\.crop\.width: 0, expected an integer >= 1'),
    ('crop-negative-offset', _set('embodiment.cameras.wrist.crop',
                                  {'x_offset': 0, 'y_offset': -1, 'width': 8, 'height': 8}),
     r'^embodiment\.cameras\.wrist\.crop\.y_offset: -1, expected an integer >= 0'),
    ('crop-as-a-list', _set('embodiment.cameras.front.crop', [0, 0, 8, 8]),
     r"^embodiment\.cameras\.front\.crop: \[0, 0, 8, 8\], expected the keys \['height', "),
]


@pytest.mark.parametrize(('edit', 'match'), [(edit, match) for _, edit, match in BROKEN],
                         ids=[name for name, _, _ in BROKEN])
def test_broken_config_raises_config_error_naming_the_field(edit: Edit, match: str) -> None:
    raw = copy.deepcopy(_shipped_raw())
    edit(raw)
    with pytest.raises(ConfigError, match=match):
        parse_config(raw, root=REPO_ROOT)


@pytest.mark.parametrize(('text', 'match'), [
    ('- just\n- a list\n', r'expected a YAML mapping at top level'),
    ('embodiment: [unclosed\n', r'cannot read config'),
], ids=['list-at-top-level', 'invalid-yaml'])
def test_unreadable_config_file_raises_config_error_naming_the_file(
        tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / 'robot.yaml'
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf'^{path}: {match}'):
        load_config(path)


def test_missing_config_file_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'nowhere\.yaml: cannot read config'):
        load_config(tmp_path / 'nowhere.yaml')


def test_a_camera_crop_is_the_region_the_policy_sees() -> None:
    raw = copy.deepcopy(_shipped_raw())
    raw['embodiment']['cameras']['front'].update(
        width=160, height=120, crop={'x_offset': 48, 'y_offset': 20, 'width': 64, 'height': 32})

    front = parse_config(raw, root=REPO_ROOT).embodiment.cameras[0]
    frame = np.arange(120 * 160 * 3, dtype=np.uint32).astype(np.uint8).reshape(120, 160, 3)

    assert front.crop == CameraCrop(x_offset=48, y_offset=20, width=64, height=32)
    assert (front.observed_width, front.observed_height) == (64, 32)
    np.testing.assert_array_equal(front.observed(frame), frame[20:52, 48:112])
    wrist = parse_config(raw, root=REPO_ROOT).embodiment.cameras[1]  # no crop: the whole frame
    whole = np.zeros((64, 64, 3), np.uint8)
    assert wrist.observed(whole) is whole
    with pytest.raises(InputError, match=r"camera 'front' .*: image is 64x64 \(WxH\), "
                                         r'expected 160x120'):
        front.observed(whole)

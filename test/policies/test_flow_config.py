# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``vla_ros_policy.json``: round trip, normalization, and one ConfigError per bad field."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vla_ros.core.errors import ConfigError
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.flow.config import (
    CONFIG_FILENAME,
    FeatureStats,
    FlowPolicyConfig,
    Normalization,
)

SPEC = PolicySpec(joint_names=('a', 'b'), camera_names=('front',), image_height=64,
                  image_width=64, chunk_length=10, dt_s=0.1)
CONFIG = FlowPolicyConfig(
    spec=SPEC, num_denoising_steps=5, noise_seed=3,
    normalization=Normalization(
        state=FeatureStats(mean=(0.0, 1.0), std=(0.5, 2.0)),
        actions=FeatureStats(mean=(0.1, -0.2), std=(0.05, 0.01), q01=(-1.0, -1.0),
                             q99=(1.0, 1.0))))


_DELETE = object()


def _edited(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(CONFIG.to_json())
    target = raw
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw



def test_config_round_trips_through_its_json_file(tmp_path: Path) -> None:
    path = CONFIG.save(tmp_path)
    assert path == tmp_path / CONFIG_FILENAME
    assert FlowPolicyConfig.load(tmp_path) == CONFIG
    assert json.loads(path.read_text())['normalization']['actions']['q99'] == [1.0, 1.0]
    assert 'action_rows' not in json.loads(path.read_text())  # absolute: files as before


def test_joint_offset_rows_round_trip_as_action_rows(tmp_path: Path) -> None:
    offsets = dataclasses.replace(CONFIG, joint_deltas=True)
    path = offsets.save(tmp_path)
    assert json.loads(path.read_text())['action_rows'] == 'joint_delta'
    assert FlowPolicyConfig.load(tmp_path) == offsets
    explicit = {**CONFIG.to_json(), 'action_rows': 'absolute'}
    assert FlowPolicyConfig.from_json(explicit) == CONFIG


def test_unnormalize_inverts_normalize() -> None:
    stats = CONFIG.normalization.actions
    values = np.array([[0.3, -0.25], [0.1, -0.2]])
    np.testing.assert_allclose(stats.normalize(values)[1], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(stats.normalize(values)[0], [4.0, -5.0], rtol=1e-6)
    np.testing.assert_allclose(stats.unnormalize(stats.normalize(values)), values, atol=1e-12)


@pytest.mark.parametrize(('path', 'value', 'match'), [
    (('schema_version',), 2, r'schema_version: 2, expected 1'),
    (('extra',), 1, r"unknown keys \['extra'\]"),
    (('spec', 'joint_names'), ['a', 'a'], r'spec\.joint_names: .*unique'),
    (('spec', 'camera_names'), [], r'spec\.camera_names'),
    (('spec', 'chunk_length'), 0, r'spec\.chunk_length: 0, expected an integer >= 1'),
    (('spec', 'image_width'), 64.5, r'spec\.image_width: 64\.5'),
    (('spec', 'dt_s'), -0.1, r'spec\.dt_s: -0\.1'),
    (('spec', 'dt_s'), '0.1', r'spec\.dt_s'),
    (('spec', 'image_height'), _DELETE, r'spec\.image_height: missing required key'),
    (('num_denoising_steps',), 0, r'num_denoising_steps: 0'),
    (('noise_seed',), -1, r'noise_seed: -1'),
    (('normalization', 'mode'), 'minmax', r"normalization\.mode: 'minmax'"),
    (('normalization', 'actions', 'std'), [0.05, 0.0],
     r'normalization\.actions\.std\[1\]: 0\.0, expected finite and > 0'),
    (('normalization', 'state', 'mean'), [0.0],
     r'normalization\.state\.mean: 1 values, expected 2'),
    (('normalization', 'state', 'mean'), [0.0, 'x'], r'normalization\.state\.mean\[1\]: \'x\''),
    (('normalization', 'actions', 'q01'), [0.0, float('nan')],
     r'normalization\.actions\.q01\[1\]: nan, expected finite'),
    (('normalization', 'state'), _DELETE, r'normalization\.state: missing required key'),
    (('action_rows',), 'ee_delta',
     r"^action_rows: 'ee_delta', expected 'absolute' or 'joint_delta'$"),
], ids=['schema', 'unknown-key', 'duplicate-joint', 'no-camera', 'chunk-zero', 'float-width',
        'negative-dt', 'string-dt', 'missing-height', 'no-steps', 'negative-seed', 'bad-mode',
        'zero-std', 'short-mean', 'string-mean', 'nan-quantile', 'missing-state',
        'action-rows'])
def test_invalid_field_is_config_error_naming_it(path: tuple[str, ...], value: Any,
                                                  match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        FlowPolicyConfig.from_json(_edited(path, value))


def test_corrupted_json_file_is_config_error(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILENAME).write_text('{"schema_version": 1, "spec": ')
    with pytest.raises(ConfigError, match=r'vla_ros_policy\.json: not valid JSON'):
        FlowPolicyConfig.load(tmp_path)


def test_missing_json_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'vla_ros_policy\.json: cannot read'):
        FlowPolicyConfig.load(tmp_path)


def test_invalid_field_in_file_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILENAME).write_text(json.dumps(_edited(('spec', 'dt_s'), 0)))
    with pytest.raises(ConfigError, match=r'vla_ros_policy\.json: spec\.dt_s: 0'):
        FlowPolicyConfig.load(tmp_path)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The policy section's mapping (inputs, outputs, tokenizer, dtype): each mistake is one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from vla_ros.core.config import parse_config
from vla_ros.core.errors import ConfigError
from vla_ros.core.policy_mapping import ModelDtype, PolicyInputs, PolicyOutputs
from vla_ros.policies.registry import load_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
JOINTS = ['joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint']


def _raw(**policy: Any) -> dict[str, Any]:
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw['policy'] = {'family': 'flow', 'checkpoint': 'checkpoints/flow/reach', **policy}
    return raw


MAPPING = {'inputs': {'cameras': {'observation.images.top': 'front',
                                  'observation.images.side': None},
                      'state': JOINTS},
           'outputs': {'joints': JOINTS, 'dt_s': 0.05}}


def test_mapping_tokenizer_and_dtype_parse_into_the_policy_config() -> None:
    policy = parse_config(_raw(tokenizer='models/paligemma', dtype='bfloat16', **MAPPING),
                          root=REPO_ROOT).policy
    assert policy.dtype is ModelDtype.BFLOAT16
    assert policy.tokenizer == REPO_ROOT / 'models' / 'paligemma'
    assert policy.inputs == PolicyInputs(
        cameras={'observation.images.top': 'front', 'observation.images.side': None},
        state=tuple(JOINTS))
    assert policy.outputs == PolicyOutputs(joints=tuple(JOINTS), dt_s=0.05)
    assert policy.layout_settings() == ('dtype', 'tokenizer', 'inputs', 'outputs')


def _with(section: str, key: str, value: Any) -> dict[str, Any]:
    mapping = yaml.safe_load(yaml.safe_dump(MAPPING))
    mapping[section][key] = value
    return mapping


@pytest.mark.parametrize(('policy', 'match'), [
    (_with('inputs', 'cameras', {'observation.images.top': 'top'}),
     r"^policy\.inputs\.cameras\.observation\.images\.top: 'top' is not a camera of "
     r"embodiment\.cameras \['front', 'wrist'\]$"),
    (_with('inputs', 'cameras', {'a': 'front', 'b': 'front'}),
     r'^policy\.inputs\.cameras: .* each camera at most once$'),
    (_with('inputs', 'state', JOINTS[:6] + ['elbow']),
     r"^policy\.inputs\.state: unknown joints \['elbow'\]; embodiment\.joints is"),
    (_with('outputs', 'joints', JOINTS + ['joint1']),
     r'^policy\.outputs\.joints: .* names a joint twice$'),
    (_with('outputs', 'dt_s', 0), r'^policy\.outputs\.dt_s: 0, expected a finite number'),
    ({'inputs': MAPPING['inputs']}, r'^policy\.inputs and policy\.outputs: give both'),
    ({**MAPPING, 'dtype': 'fp8'}, r"^policy\.dtype: 'fp8', expected one of \['float32', "),
    ({'inputs': {'cameras': {'a': 'front'}}, 'outputs': MAPPING['outputs']},
     r'^policy\.inputs\.state: missing required key$'),
], ids=['unknown-camera', 'camera-twice', 'unknown-joint', 'joint-twice', 'zero-period',
        'inputs-without-outputs', 'unknown-dtype', 'no-state'])
def test_each_mapping_mistake_is_a_one_line_config_error(policy: dict[str, Any],
                                                         match: str) -> None:
    with pytest.raises(ConfigError, match=match) as error:
        parse_config(_raw(**policy), root=REPO_ROOT)
    assert '\n' not in str(error.value)


def test_families_that_do_not_read_the_mapping_refuse_it() -> None:
    policy = parse_config(_raw(dtype='float16'), root=REPO_ROOT).policy
    match = (r"^policy\.dtype: the 'tokens' family does not read it "
             r"\(only \['fast', 'flow', 'pi05'\] do\); remove it$")
    with pytest.raises(ConfigError, match=match):
        load_policy('tokens', REPO_ROOT / 'checkpoints' / 'tokens' / 'reach', settings=policy)

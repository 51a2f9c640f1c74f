# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""PolicySpec checks itself: a spec that exists is valid, whichever family or client made it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vla_ros.core.errors import ConfigError
from vla_ros.core.policy import PolicySpec

GOOD = {'joint_names': ('a', 'b'), 'camera_names': ('front',), 'image_height': 64,
        'image_width': 48, 'chunk_length': 10, 'dt_s': 0.1}


def test_a_valid_spec_keeps_its_values_as_tuples_ints_and_a_float():
    spec = PolicySpec(**{**GOOD, 'joint_names': ['a', 'b'], 'image_height': np.int64(64),
                         'dt_s': 1})

    assert spec == PolicySpec(**GOOD | {'dt_s': 1.0})
    assert (type(spec.joint_names), type(spec.image_height), type(spec.dt_s)) == (
        tuple, int, float)


def test_a_policy_may_read_no_camera():
    assert PolicySpec(**GOOD | {'camera_names': ()}).camera_names == ()


@pytest.mark.parametrize(('field', 'value', 'message'), [
    ('joint_names', (), r'^spec\.joint_names: \[\], expected unique non-empty names, at least '
                        'one$'),
    ('joint_names', ('a', 'a'), r"^spec\.joint_names: \['a', 'a'\], expected unique"),
    ('joint_names', ('a', ''), r"^spec\.joint_names: \['a', ''\]"),
    ('joint_names', 'ab', r"^spec\.joint_names: 'ab', expected unique non-empty names"),
    ('joint_names', ('a', 3), r"^spec\.joint_names: \['a', 3\]"),
    ('camera_names', ('front', 'front'), r"^spec\.camera_names: \['front', 'front'\], expected "
                                         r'unique non-empty names$'),
    ('camera_names', None, r'^spec\.camera_names: None'),
    ('image_height', 0, r'^spec\.image_height: 0, expected an integer >= 1$'),
    ('image_width', 64.5, r'^spec\.image_width: 64\.5, expected an integer >= 1$'),
    ('chunk_length', True, r'^spec\.chunk_length: True, expected an integer >= 1$'),
    ('chunk_length', -3, r'^spec\.chunk_length: -3'),
    ('dt_s', 0.0, r'^spec\.dt_s: 0\.0, expected a finite number of seconds > 0$'),
    ('dt_s', -0.1, r'^spec\.dt_s: -0\.1'),
    ('dt_s', float('nan'), r'^spec\.dt_s: nan'),
    ('dt_s', float('inf'), r'^spec\.dt_s: inf'),
    ('dt_s', '0.1', r"^spec\.dt_s: '0\.1'"),
    ('dt_s', False, r'^spec\.dt_s: False'),
], ids=['no-joints', 'duplicate-joints', 'empty-joint-name', 'joints-as-string',
        'joint-not-a-string', 'duplicate-cameras', 'cameras-none', 'zero-height',
        'fractional-width', 'bool-chunk', 'negative-chunk', 'zero-dt', 'negative-dt', 'nan-dt',
        'inf-dt', 'string-dt', 'bool-dt'])
def test_a_bad_field_is_refused_naming_it(field, value, message):
    with pytest.raises(ConfigError, match=message):
        PolicySpec(**GOOD | {field: value})


def test_replace_checks_the_new_value_too():
    with pytest.raises(ConfigError, match=r'^spec\.chunk_length: 0'):
        dataclasses.replace(PolicySpec(**GOOD), chunk_length=0)

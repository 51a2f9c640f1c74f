# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Quantile and z-score normalization: values, masks, clipping, padding, JSON and statistics."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import numpy as np
import pytest

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.core.normalization import (
    compute_stats,
    DatasetStats,
    pad_dims,
    QuantileStats,
    unpad_dims,
    ZScoreStats,
)

# Two joints (rad) and a gripper (0 open .. 1 closed) left raw, as OpenVLA leaves it.
QUANTILE = QuantileStats(q01=(-1.0, 0.5, 0.0), q99=(3.0, 1.5, 1.0), mask=(True, True, False))
ZSCORE = ZScoreStats(mean=(1.0, -2.0, 0.0), std=(2.0, 0.5, 1.0), mask=(True, True, False))


def test_quantile_maps_q01_to_minus_one_and_q99_to_plus_one() -> None:
    normalized = QUANTILE.normalize([[-1.0, 0.5, 0.3], [3.0, 1.5, 0.3], [1.0, 1.0, 0.3]])
    np.testing.assert_allclose(normalized[:, :2], [[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]],
                               atol=1e-5)


@pytest.mark.parametrize(('joint_rad', 'expected'), [
    pytest.param(-7.0, -1.0, id='below_q01'),
    pytest.param(40.0, 1.0, id='above_q99'),
])
def test_quantile_clips_values_outside_q01_q99(joint_rad: float, expected: float) -> None:
    assert QUANTILE.normalize([joint_rad, 1.0, 0.5])[0] == expected


@pytest.mark.parametrize('stats', [QUANTILE, ZSCORE], ids=['quantile', 'zscore'])
def test_masked_dimension_passes_through_raw_and_unclipped(
        stats: QuantileStats | ZScoreStats) -> None:
    values = np.array([[0.2, 1.0, 0.75], [0.4, 1.2, 7.0]])
    np.testing.assert_array_equal(stats.normalize(values)[:, 2], [0.75, 7.0])
    np.testing.assert_array_equal(stats.unnormalize(values)[:, 2], [0.75, 7.0])


def test_zscore_subtracts_mean_and_divides_by_std() -> None:
    np.testing.assert_allclose(ZSCORE.normalize([5.0, -1.0, 0.5]), [2.0, 2.0, 0.5], rtol=1e-5)


def test_without_mask_every_dimension_is_normalized() -> None:
    stats = QuantileStats(q01=(0.0, 0.0), q99=(2.0, 4.0))
    np.testing.assert_allclose(stats.normalize([2.0, 1.0]), [1.0, -0.5], atol=1e-5)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(-5.0, 5.0))
def test_unnormalize_inverts_normalize_inside_the_quantile_range(
        joint_fraction: float, second_fraction: float, gripper: float) -> None:
    values = np.array([-1.0 + 4.0 * joint_fraction, 0.5 + second_fraction, gripper])
    for stats in (QUANTILE, ZSCORE):
        np.testing.assert_allclose(stats.unnormalize(stats.normalize(values)), values,
                                   atol=1e-9)


@pytest.mark.parametrize(('values', 'match'), [
    pytest.param([1.0, 2.0], r'expected \(\.\.\., 3\)', id='too_narrow'),
    pytest.param([1.0, np.nan, 0.0], 'NaN or Inf', id='nan'),
    pytest.param([np.inf, 1.0, 0.0], 'NaN or Inf', id='inf'),
])
def test_bad_values_raise_input_error_in_and_policy_output_error_out(
        values: list[float], match: str) -> None:
    with pytest.raises(InputError, match=match):
        QUANTILE.normalize(values)
    with pytest.raises(PolicyOutputError, match=match):
        ZSCORE.unnormalize(values)


def test_pad_then_unpad_restores_the_robot_dimensions() -> None:
    chunk = np.arange(6.0).reshape(2, 3)
    padded = pad_dims(chunk, 5)
    np.testing.assert_array_equal(padded, [[0, 1, 2, 0, 0], [3, 4, 5, 0, 0]])
    np.testing.assert_array_equal(unpad_dims(padded, 3), chunk)


def test_pad_refuses_more_dimensions_than_the_model_has() -> None:
    with pytest.raises(ConfigError, match='exceeds the model width 2'):
        pad_dims(np.zeros((4, 3)), 2)


def test_unpad_refuses_output_narrower_than_the_robot() -> None:
    with pytest.raises(PolicyOutputError, match='fewer than 7 dims'):
        unpad_dims(np.zeros((4, 6)), 7)


@pytest.mark.parametrize('stats', [
    QUANTILE, ZSCORE, QuantileStats(q01=(0.0,), q99=(1.0,), eps=0.0),
    DatasetStats(mean=(0.0, 1.0), std=(1.0, 0.0), q01=(-2.0, 1.0), q99=(2.0, 1.0)),
], ids=['quantile_masked', 'zscore_masked', 'quantile_eps_zero', 'dataset'])
def test_stats_round_trip_through_json_text(
        stats: QuantileStats | ZScoreStats | DatasetStats) -> None:
    text = json.dumps(stats.to_json())
    assert type(stats).from_json(json.loads(text)) == stats


def test_json_keys_are_the_checkpoint_names() -> None:
    assert QUANTILE.to_json() == {'q01': [-1.0, 0.5, 0.0], 'q99': [3.0, 1.5, 1.0],
                                  'mask': [True, True, False], 'eps': 1e-6}


def test_dataset_stats_give_both_normalizers_with_the_mask() -> None:
    stats = DatasetStats(mean=(0.0, 1.0), std=(1.0, 2.0), q01=(-2.0, 0.0), q99=(2.0, 1.0))
    assert stats.quantile_stats([True, False]) == QuantileStats(
        q01=(-2.0, 0.0), q99=(2.0, 1.0), mask=(True, False))
    assert stats.zscore_stats() == ZScoreStats(mean=(0.0, 1.0), std=(1.0, 2.0))


_QUANTILE_JSON = {'q01': [0.0, 0.0], 'q99': [1.0, 1.0]}


@pytest.mark.parametrize(('cls', 'raw', 'match'), [
    pytest.param(QuantileStats, [0.0], r'actions: expected a mapping, got \[0\.0\]',
                 id='not_mapping'),
    pytest.param(QuantileStats, {'q01': [0.0]}, r'actions\.q99: missing', id='missing_q99'),
    pytest.param(QuantileStats, {**_QUANTILE_JSON, 'min': [0.0, 0.0]}, r"unknown keys \['min'\]",
                 id='unknown_key'),
    pytest.param(QuantileStats, {**_QUANTILE_JSON, 'q99': [1.0, 'x']},
                 r"actions\.q99\[1\]: 'x', expected a number", id='string_value'),
    pytest.param(QuantileStats, {**_QUANTILE_JSON, 'q01': 0.0}, r'actions\.q01: 0\.0, expected a',
                 id='scalar_vector'),
    pytest.param(QuantileStats, {**_QUANTILE_JSON, 'q99': [1.0, -1.0]},
                 r'actions\.q99\[1\]: -1\.0, expected >= q01', id='q99_below_q01'),
    pytest.param(QuantileStats, {**_QUANTILE_JSON, 'q99': [1.0]},
                 r'actions\.q99: 1 values, expected as many as q01', id='length_mismatch'),
    pytest.param(QuantileStats, {'q01': [], 'q99': []}, r'actions\.q01: 0 values', id='empty'),
    pytest.param(QuantileStats, {**_QUANTILE_JSON, 'mask': [True]},
                 r'actions\.mask: \[True\], expected a list of 2 booleans', id='short_mask'),
    pytest.param(QuantileStats, {**_QUANTILE_JSON, 'mask': [1, 0]}, r'actions\.mask',
                 id='int_mask'),
    pytest.param(QuantileStats, {**_QUANTILE_JSON, 'eps': -1.0}, r'actions\.eps: -1\.0',
                 id='negative_eps'),
    pytest.param(QuantileStats, {'q01': [1.0], 'q99': [1.0], 'eps': 0},
                 r'actions\.eps: 0 while dimension 0 has zero width', id='zero_width'),
    pytest.param(ZScoreStats, {'mean': [0.0], 'std': [-1.0]},
                 r'actions\.std\[0\]: -1\.0, expected >= 0', id='negative_std'),
    pytest.param(ZScoreStats, {'mean': [float('nan')], 'std': [1.0]},
                 r'actions\.mean\[0\]: nan, expected a finite', id='nan_mean'),
    pytest.param(DatasetStats, {'mean': [0.0], 'std': [1.0], 'q01': [0.0]},
                 r'actions\.q99: missing', id='dataset_missing_q99'),
])
def test_invalid_json_raises_config_error_naming_the_field(cls: Any, raw: Any,
                                                            match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        cls.from_json(raw, where='actions')


def test_constructor_errors_name_the_class_and_field() -> None:
    with pytest.raises(ConfigError, match=r'ZScoreStats\.std: 1 values'):
        ZScoreStats(mean=(0.0, 0.0), std=(1.0,))


def test_compute_stats_gives_mean_std_and_percentiles_per_column() -> None:
    samples = np.stack([np.arange(101.0), -2.0 * np.arange(101.0)], axis=1)
    stats = compute_stats(samples)
    np.testing.assert_allclose(stats.mean, [50.0, -100.0])
    np.testing.assert_allclose(stats.std, [np.sqrt(850.0), 2.0 * np.sqrt(850.0)])
    np.testing.assert_allclose(stats.q01, [1.0, -198.0])
    np.testing.assert_allclose(stats.q99, [99.0, -2.0])


@given(arrays(np.float64, (50, 2), elements=st.floats(-10.0, 10.0)))
def test_computed_quantile_stats_map_the_samples_into_unit_range(samples: np.ndarray) -> None:
    normalized = compute_stats(samples).quantile_stats().normalize(samples)
    assert np.all(np.abs(normalized) <= 1.0)


@pytest.mark.parametrize(('samples', 'match'), [
    pytest.param(np.zeros(5), r'shape \(5,\), expected \(N, D\)', id='one_dimensional'),
    pytest.param(np.zeros((0, 3)), r'shape \(0, 3\)', id='no_samples'),
    pytest.param(np.array([[0.0], [np.nan]]), 'NaN or Inf', id='nan'),
])
def test_compute_stats_rejects_bad_samples(samples: np.ndarray, match: str) -> None:
    with pytest.raises(InputError, match=match):
        compute_stats(samples)

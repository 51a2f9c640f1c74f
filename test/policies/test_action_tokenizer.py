# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Discrete action tokens: id range, round-trip bound, OpenVLA arithmetic, garbage ids refused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import numpy as np
import pytest

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.core.normalization import QuantileStats
from vla_ros.policies.tokens import ActionTokenizer, BinLayout, decode_actions, encode_actions

VOCAB_SIZE = 32000  # Llama 2, as in OpenVLA
UNIFORM = ActionTokenizer(VOCAB_SIZE)
OPENVLA = ActionTokenizer(VOCAB_SIZE, layout=BinLayout.OPENVLA_EDGES)
LAYOUTS = [pytest.param(UNIFORM, id='uniform'), pytest.param(OPENVLA, id='openvla_edges')]
# x, y, z (m), roll, pitch, yaw (rad) normalized; the gripper (0 .. 1) left raw.
STATS = QuantileStats(q01=(-0.02, -0.03, -0.01, -0.1, -0.1, -0.2, 0.0),
                      q99=(0.02, 0.03, 0.02, 0.1, 0.1, 0.2, 1.0),
                      mask=(True,) * 6 + (False,))


@pytest.mark.parametrize('tokenizer', LAYOUTS)
def test_ids_are_the_last_256_of_the_vocabulary_lowest_action_highest_id(
        tokenizer: ActionTokenizer) -> None:
    ids = tokenizer.encode([[-1.0, 1.0, 0.0]])
    assert ids[0, 0] == VOCAB_SIZE - 1
    assert ids[0, 1] == VOCAB_SIZE - 256 == tokenizer.first_token_id
    assert tokenizer.first_token_id < ids[0, 2] < VOCAB_SIZE - 1


@pytest.mark.parametrize(('tokenizer', 'bin_width'), [
    pytest.param(UNIFORM, 2.0 / 256, id='uniform'),
    pytest.param(OPENVLA, 2.0 / 255, id='openvla_edges'),
])
def test_bin_centres_split_the_unit_range_evenly(tokenizer: ActionTokenizer,
                                                 bin_width: float) -> None:
    centers = tokenizer.bin_centers
    assert tokenizer.bin_width == pytest.approx(bin_width)
    assert centers[0] == pytest.approx(-1.0 + bin_width / 2)
    assert centers[-1] == pytest.approx(1.0 - bin_width / 2)
    np.testing.assert_allclose(np.diff(centers), bin_width)


@pytest.mark.parametrize('tokenizer', LAYOUTS)
@given(arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 7)),
              elements=st.floats(-1.0, 1.0)))
def test_round_trip_error_is_at_most_half_a_bin(tokenizer: ActionTokenizer,
                                                actions: np.ndarray) -> None:
    decoded = tokenizer.decode(tokenizer.encode(actions), actions.shape[1])
    assert decoded.shape == actions.shape
    assert np.abs(decoded - actions).max() <= tokenizer.bin_width / 2 + 1e-12


def test_openvla_layout_reproduces_openvla_digitize_arithmetic() -> None:
    actions = np.linspace(-1.2, 1.2, 97).reshape(-1, 1)
    # OpenVLA: id = V - digitize(clip(a), linspace(-1, 1, 256)); value = centres[clip(V - id - 1)].
    edges = np.linspace(-1.0, 1.0, 256)
    expected_ids = VOCAB_SIZE - np.digitize(np.clip(actions, -1.0, 1.0), edges)
    centers = (edges[:-1] + edges[1:]) / 2.0
    expected_values = centers[np.clip(VOCAB_SIZE - expected_ids - 1, 0, 254)]
    np.testing.assert_array_equal(OPENVLA.encode(actions), expected_ids)
    np.testing.assert_allclose(OPENVLA.decode(expected_ids, 1), expected_values, atol=1e-15)


@pytest.mark.parametrize('tokenizer', LAYOUTS)
def test_values_outside_the_unit_range_are_clipped_to_the_end_bins(
        tokenizer: ActionTokenizer) -> None:
    np.testing.assert_array_equal(tokenizer.encode([[-5.0, 7.0]]),
                                  tokenizer.encode([[-1.0, 1.0]]))


def test_decode_accepts_a_flat_sequence_time_major() -> None:
    ids = UNIFORM.encode([[-1.0, 0.0], [0.5, 1.0]])
    np.testing.assert_array_equal(UNIFORM.decode(ids.reshape(-1), 2), UNIFORM.decode(ids, 2))
    np.testing.assert_allclose(UNIFORM.decode(ids.reshape(-1), 2),
                               [[-1.0 + 1 / 256, 1 / 256], [0.5 + 1 / 256, 1.0 - 1 / 256]])


@pytest.mark.parametrize('bad_id', [
    pytest.param(VOCAB_SIZE - 257, id='just_below_action_range'),
    pytest.param(VOCAB_SIZE, id='past_vocabulary'),
    pytest.param(-1, id='negative'),
    pytest.param(2, id='text_token'),
])
def test_decode_rejects_ids_outside_the_action_range_naming_the_position(bad_id: int) -> None:
    ids = UNIFORM.encode(np.zeros((3, 3))).reshape(-1)
    ids[4] = bad_id
    with pytest.raises(PolicyOutputError,
                       match=rf'id {bad_id} at position 4 \(step 1, dim 1\) is not an action'):
        UNIFORM.decode(ids, 3)


@pytest.mark.parametrize(('token_ids', 'match'), [
    pytest.param(np.full(7, VOCAB_SIZE - 1), r'shape \(7,\), expected T \* 3 ids', id='count'),
    pytest.param(np.zeros(0, dtype=np.int64), r'shape \(0,\)', id='empty'),
    pytest.param(np.full((2, 2), VOCAB_SIZE - 1), r'shape \(2, 2\)', id='wrong_width'),
    pytest.param(np.full(3, VOCAB_SIZE - 1.0), 'dtype float64, expected integer', id='floats'),
])
def test_decode_rejects_malformed_sequences(token_ids: np.ndarray, match: str) -> None:
    with pytest.raises(PolicyOutputError, match=match):
        UNIFORM.decode(token_ids, 3)


@pytest.mark.parametrize(('actions', 'match'), [
    pytest.param([[0.0, np.nan]], 'NaN or Inf', id='nan'),
    pytest.param([0.0, 0.5], r'shape \(2,\), expected \(T, D\)', id='one_dimensional'),
])
def test_encode_rejects_bad_actions(actions: list[list[float]], match: str) -> None:
    with pytest.raises(InputError, match=match):
        UNIFORM.encode(actions)


@pytest.mark.parametrize(('kwargs', 'match'), [
    pytest.param({'vocab_size': 100}, r'vocab_size: 100, expected an integer >= 256',
                 id='vocab_too_small'),
    pytest.param({'vocab_size': 1000, 'n_bins': 1}, r'n_bins: 1, expected an integer >= 2',
                 id='one_bin'),
    pytest.param({'vocab_size': 1000, 'layout': 'uniform'}, 'expected a BinLayout',
                 id='string_layout'),
])
def test_invalid_tokenizer_settings_raise_config_error(kwargs: dict[str, object],
                                                      match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ActionTokenizer(**kwargs)


@pytest.mark.parametrize('tokenizer', LAYOUTS)
def test_actions_round_trip_in_robot_units_with_the_gripper_raw(
        tokenizer: ActionTokenizer) -> None:
    rng = np.random.default_rng(0)
    low, high = np.asarray(STATS.q01), np.asarray(STATS.q99)
    actions = rng.uniform(low, high, (8, 7))
    actions[:, 6] = rng.choice([0.0, 1.0], 8)
    decoded = decode_actions(encode_actions(actions, tokenizer=tokenizer, stats=STATS),
                             tokenizer=tokenizer, stats=STATS)
    bound = tokenizer.bin_width / 2 * np.append((high - low + STATS.eps)[:6] / 2, 1.0) + 1e-12
    assert np.all(np.abs(decoded - actions) <= bound)


def test_actions_beyond_q99_decode_to_the_top_bin() -> None:
    actions = np.array([[0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    decoded = decode_actions(encode_actions(actions, tokenizer=UNIFORM, stats=STATS),
                             tokenizer=UNIFORM, stats=STATS)
    assert decoded[0, 0] == pytest.approx(0.02 - 0.04 / 512, abs=1e-6)


def test_decode_actions_rejects_a_sequence_of_the_wrong_width() -> None:
    with pytest.raises(PolicyOutputError, match=r'expected T \* 7 ids'):
        decode_actions(np.full(6, VOCAB_SIZE - 1), tokenizer=UNIFORM, stats=STATS)

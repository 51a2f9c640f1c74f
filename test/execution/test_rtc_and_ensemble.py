# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The pieces of real-time chunking and temporal ensembling, value by value."""

from __future__ import annotations

import math

import numpy as np
from numpy.testing import assert_allclose
import pytest

from vla_ros.core.errors import InputError
from vla_ros.execution.rtc import (
    blend_with_prefix,
    estimate_delay_steps,
    rtc_bounds,
    RtcPrefix,
    soft_mask_weights,
)
from vla_ros.execution.temporal_ensemble import TemporalEnsembler


@pytest.mark.parametrize(('latencies_s', 'expected'), [
    ([], 0),
    ([0.05], 1),
    ([0.1], 1),          # exactly one step
    ([0.12, 0.31, 0.2], 4),  # the largest counts
], ids=['none', 'part-step', 'one-step', 'largest'])
def test_delay_is_the_largest_latency_in_whole_steps(latencies_s: list[float],
                                                     expected: int) -> None:
    assert estimate_delay_steps(latencies_s, 0.1) == expected


@pytest.mark.parametrize(('delay', 'execution', 'chunk', 'expected'), [
    (2, 4, 10, (2, 4)),
    (3, 1, 10, (3, 3)),
    (3, 9, 10, (3, 7)),
    (8, 5, 10, (5, 5)),
    (0, 0, 10, (0, 1)),
], ids=['within', 's-below-d', 's-above-h-minus-d', 'd-above-half', 'at-least-one-step'])
def test_rtc_bounds_keep_d_le_s_le_h_minus_d(delay: int, execution: int, chunk: int,
                                            expected: tuple[int, int]) -> None:
    d, s = rtc_bounds(delay, execution, chunk)
    assert (d, s) == expected
    assert d <= s <= chunk - d


@pytest.mark.parametrize(('prefix_steps', 'overlap', 'expected'), [
    (2, 6, [1, 1, 0.8, 0.6, 0.4, 0.2, 0, 0]),
    (0, 3, [0.75, 0.5, 0.25, 0, 0, 0, 0, 0]),
    (3, 3, [1, 1, 1, 0, 0, 0, 0, 0]),
    (2, 0, [1, 1, 0, 0, 0, 0, 0, 0]),
], ids=['fade-after-prefix', 'no-prefix', 'prefix-covers-overlap', 'no-overlap'])
def test_soft_mask_is_one_over_the_prefix_and_fades_to_zero_at_the_overlap_end(
        prefix_steps: int, overlap: int, expected: list[float]) -> None:
    assert_allclose(soft_mask_weights(prefix_steps, overlap, 8), expected)


def test_blend_fixes_the_prefix_and_mixes_the_rest_by_weight() -> None:
    prefix = RtcPrefix(actions=np.full((4, 2), 1.0), prefix_steps=1,
                       weights=np.array([0.9, 0.5, 0.25, 0.0]))
    chunk = np.zeros((4, 2))

    blended = blend_with_prefix(chunk, prefix)

    assert_allclose(blended[:, 0], [1.0, 0.5, 0.25, 0.0])  # weight 0.9 is overridden: fixed
    assert_allclose(blended[:, 1], blended[:, 0])


def test_blend_of_other_shapes_is_an_input_error() -> None:
    prefix = RtcPrefix(np.zeros((4, 2)), 0, np.zeros(4))
    with pytest.raises(InputError, match=r'chunk \(3, 2\), prefix \(4, 2\)'):
        blend_with_prefix(np.zeros((3, 2)), prefix)


def test_prefix_with_mismatched_weights_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r'weights \(3,\)'):
        RtcPrefix(np.zeros((4, 2)), 1, np.zeros(3))


def test_ensemble_weights_the_ith_prediction_of_a_step_by_exp_minus_m_i() -> None:
    ensembler = TemporalEnsembler(decay=0.1)
    ensembler.add(np.array([1, 2]), np.array([[1.0], [1.0]]))
    ensembler.add(np.array([2, 3]), np.array([[2.0], [2.0]]))

    third = ensembler.add(np.array([2]), np.array([[4.0]]))

    w = [1.0, math.exp(-0.1), math.exp(-0.2)]
    assert_allclose(third, [[(w[0] * 1 + w[1] * 2 + w[2] * 4) / sum(w)]])


def test_negative_decay_favours_newer_predictions() -> None:
    ensembler = TemporalEnsembler(decay=-1.0)
    ensembler.add(np.array([5]), np.array([[0.0]]))

    mean = ensembler.add(np.array([5]), np.array([[1.0]]))[0, 0]

    assert mean == pytest.approx(math.e / (1.0 + math.e))


def test_forgotten_steps_start_a_fresh_mean() -> None:
    ensembler = TemporalEnsembler(decay=0.0)
    ensembler.add(np.array([1, 2]), np.array([[1.0], [1.0]]))
    ensembler.forget_before(2)

    again = ensembler.add(np.array([1, 2]), np.array([[3.0], [3.0]]))

    assert_allclose(again, [[3.0], [2.0]])  # step 1 forgotten, step 2 averaged

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Guided sampling of the flow policy (real-time chunking's inpainting) on a tiny real model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
import pytest

from vla_ros.core.errors import InputError
from vla_ros.core.policy import as_guided
from vla_ros.core.types import Observation
from vla_ros.policies.flow.checkpoint import DEFAULT_SPEC
from vla_ros.policies.flow.guidance import guidance_weight, GuidedFlowPolicy, load
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.registry import load_policy

STEPS = DEFAULT_SPEC.chunk_length
#: Fixed first two steps, then weights falling to 0 at step 7 (the RTC soft mask).
WEIGHTS = np.array([1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 0.0, 0.0, 0.0])


@pytest.fixture(scope='module')
def policy(flow_checkpoint: Path) -> GuidedFlowPolicy:
    """One loaded policy for the tests that need no fresh noise generator."""
    return load(flow_checkpoint, 'cpu')


@pytest.fixture(scope='module')
def shifted_prefix(policy: GuidedFlowPolicy) -> np.ndarray:
    """A plain chunk with every arm joint 0.1 rad higher."""
    rng = np.random.default_rng(0)
    observation = Observation(
        images={name: rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
                for name in DEFAULT_SPEC.camera_names},
        joint_names=DEFAULT_SPEC.joint_names,
        joint_positions=np.array([0.0, 0.4, 1.7, 0.0, 1.04, 0.0, 0.04]),
        instruction='pick up the red cube')
    prefix = policy.infer(observation).positions.copy()
    prefix[:, :6] += 0.1
    return prefix


@pytest.mark.parametrize(('time', 'expected'), [
    (1.0, 5.0), (0.9, 5.0), (0.5, 2.0), (0.2, 4.25), (0.0, 5.0),
], ids=['noise', 'early', 'middle', 'late', 'data'])
def test_guidance_weight_is_capped_where_it_diverges(time: float, expected: float) -> None:
    assert guidance_weight(time, 5.0) == pytest.approx(expected)


def test_registry_loads_guided_flow_policies_that_sample_plainly_without_weights(
        flow_checkpoint: Path, observation: Observation) -> None:
    loaded = load_policy('flow', flow_checkpoint)
    assert isinstance(loaded, GuidedFlowPolicy) and isinstance(loaded, FlowPolicy)
    assert as_guided(loaded) is loaded
    plain = loaded.infer(observation)

    # Plain and guided sampling draw their noise from generators with the same seed.
    guided = loaded.infer_guided(
        observation, prefix_actions=np.zeros((STEPS, 7)), prefix_steps=0,
        weights=np.zeros(STEPS), max_guidance_weight=5.0)

    assert_allclose(guided.positions, plain.positions, atol=1e-6)
    assert guided.joint_names == plain.joint_names and guided.dt_s == plain.dt_s


def test_guidance_fixes_the_prefix_and_pulls_the_weighted_steps_towards_it(
        policy: GuidedFlowPolicy, observation: Observation, shifted_prefix: np.ndarray) -> None:
    guided = policy.infer_guided(
        observation, prefix_actions=shifted_prefix, prefix_steps=2, weights=WEIGHTS,
        max_guidance_weight=5.0)

    assert_array_equal(guided.positions[:2], shifted_prefix[:2])
    # Unguided, every arm joint is about 0.1 rad from the prefix; guided, the weighted steps
    # are much closer, the strongly weighted ones closest.
    error_rad = np.abs(guided.positions[:, :6] - shifted_prefix[:, :6]).mean(axis=1)
    assert np.all(error_rad[2:4] < 0.03)
    assert np.all(error_rad[2:6] < 0.08)


@pytest.mark.parametrize(('change', 'match'), [
    (lambda p, w: (p[:5], w, 1), r'prefix_actions: shape \(5, 7\)'),
    (lambda p, w: (np.full_like(p, np.nan), w, 1), r'prefix_actions: .*expected finite'),
    (lambda p, w: (p, w * 2.0, 1), r'weights: .*values in \[0, 1\]'),
    (lambda p, w: (p, w, STEPS + 1), r'prefix_steps: 11, expected 0\.\.10'),
], ids=['short-prefix', 'nan-prefix', 'weights-above-one', 'too-many-prefix-steps'])
def test_unusable_prefix_is_an_input_error(
        policy: GuidedFlowPolicy, observation: Observation, shifted_prefix: np.ndarray,
        change: Callable[..., tuple[np.ndarray, np.ndarray, int]], match: str) -> None:
    prefix, weights, steps = change(shifted_prefix, WEIGHTS)
    with pytest.raises(InputError, match=match):
        policy.infer_guided(
            observation, prefix_actions=prefix, prefix_steps=steps, weights=weights,
            max_guidance_weight=5.0)

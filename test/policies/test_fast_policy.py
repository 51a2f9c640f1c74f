# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The legacy ``fast`` checkpoint format (``vla_ros_policy.json``), read-only.

FAST training writes the released LeRobot pi0_fast layout now (``test_fast_training.py``).
``checkpoints/fast/reach`` and ``reach_ee`` are still in the old format (their prompt differs
from pi0-FAST's, so they cannot be converted exactly), and ``fast/model.py`` still loads them:
these tests pin that loader on the shipped ``reach_ee`` folder itself.
"""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
import shutil

import numpy as np
from numpy.typing import NDArray
import pytest

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import Observation
from vla_ros.policies.fast.length_rule import ChunkLengthRule
from vla_ros.policies.fast.model import FastPolicy
from vla_ros.policies.registry import load_policy

LEGACY = Path(__file__).resolve().parents[2] / 'checkpoints' / 'fast' / 'reach_ee'


def _load(checkpoint_dir: Path = LEGACY) -> FastPolicy:
    policy = load_policy('fast', checkpoint_dir)
    assert isinstance(policy, FastPolicy)
    return policy


def _middle_chunk(policy: FastPolicy) -> NDArray[np.float64]:
    """A chunk at the centre of the action statistics (normalised 0 everywhere)."""
    stats = policy.config.normalization.actions
    centre = (np.asarray(stats.q01) + np.asarray(stats.q99)) / 2
    return np.tile(centre, (policy.spec.chunk_length, 1))


def test_the_legacy_checkpoint_decodes_length_constrained_ids_then_the_end_token(
        observation: Observation) -> None:
    policy = _load()
    assert policy.config.length_constrained
    ids = policy.generate_ids(observation)
    assert ids[-1] == policy.processor.end_id
    assert ids[:-1].min() >= policy.processor.first_fast_id
    chunk = policy.infer(observation)
    assert chunk.positions.shape == (10, 7) and np.all(np.isfinite(chunk.positions))


@pytest.mark.parametrize(('edit', 'match'), [
    (lambda ids: ids[:-1], r'without the end token'),
    (lambda ids: ids[-1:], r'expected a non-empty 1-D sequence'),
    (lambda ids: np.delete(ids, -2), r'expand to \d+ DCT coefficients, expected 70'),
    (lambda ids: np.insert(ids, 0, ids[0]), r'expand to \d+ DCT coefficients, expected 70'),
    (lambda ids: np.insert(ids, 1, 5), r'id 5 at position 1 is not a FAST token'),
], ids=['no-end-token', 'end-token-only', 'too-few-coefficients', 'too-many-coefficients',
        'text-token'])
def test_malformed_fast_sequence_is_policy_output_error_never_zeros(
        edit: Callable[[NDArray[np.int64]], NDArray[np.int64]], match: str) -> None:
    policy = _load()
    processor = policy.processor
    positions = np.zeros(7)
    chunk = _middle_chunk(policy)
    ids = processor.target_ids(chunk, positions)
    np.testing.assert_allclose(processor.to_action_chunk(ids, positions).positions, chunk,
                               atol=0.05)
    with pytest.raises(PolicyOutputError, match=match):
        processor.to_action_chunk(edit(ids), positions)


def test_loading_a_fast_checkpoint_whose_tokenizer_disagrees_is_config_error(
        tmp_path: Path) -> None:
    mixed = tmp_path / 'mixed'
    shutil.copytree(LEGACY, mixed)
    fast_config = json.loads((mixed / 'fast_config.json').read_text())
    fast_config['chunk_length'] = 5  # the FAST tokenizer of 5-step chunks, the spec has 10
    (mixed / 'fast_config.json').write_text(json.dumps(fast_config))
    with pytest.raises(ConfigError, match=r'chunks of 5 x 7, the spec has 10 steps x 7 joints'):
        load_policy('fast', mixed)


def test_length_rule_allows_only_ids_that_fit_and_the_end_token_once_complete() -> None:
    # FAST ids 0, 1, 2 stand for 1, 2 and 3 coefficients: model ids 9, 8, 7 of 10; end is 0.
    rule = ChunkLengthRule(np.array([1, 2, 3]), coefficients=4, vocab_size=10, end_id=0)
    assert np.flatnonzero(rule([]).numpy()).tolist() == [7, 8, 9]
    assert np.flatnonzero(rule([7]).numpy()).tolist() == [9]  # 1 coefficient left
    assert np.flatnonzero(rule([8]).numpy()).tolist() == [8, 9]
    assert np.flatnonzero(rule([7, 9]).numpy()).tolist() == [0]  # complete: only the end

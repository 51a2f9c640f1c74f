# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""FAST tokens: DCT, rounding bound, FAST order; the legacy tokenizer files, read-only.

The legacy format (``fast_tokenizer.py``) is no longer written; its loader is pinned on the
shipped ``checkpoints/fast/reach_ee`` files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import numpy as np
import pytest
from tokenizers import models, pre_tokenizers, Tokenizer

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.policies.fast import (
    CONFIG_FILENAME,
    dct_ortho,
    FastConfig,
    FastTokenizer,
    idct_ortho,
    max_rounding_error,
    TOKENIZER_FILENAME,
)
from vla_ros.policies.fast.dct import dct_matrix

LENGTH, DIM, SCALE = 10, 7, 10.0
LEGACY = Path(__file__).resolve().parents[2] / 'checkpoints' / 'fast' / 'reach_ee'


def _smooth_chunks(count: int, seed: int) -> np.ndarray:
    """Normalized chunks (count, LENGTH, DIM): slow sines, amplitude below 0.9."""
    rng = np.random.default_rng(seed)
    time_s = np.linspace(0.0, 1.0, LENGTH)[None, :, None]
    amplitude = rng.uniform(-0.9, 0.9, (count, 1, DIM))
    frequency_hz = rng.uniform(0.1, 0.8, (count, 1, DIM))
    phase = rng.uniform(0.0, 2.0 * np.pi, (count, 1, DIM))
    return amplitude * np.sin(2.0 * np.pi * frequency_hz * time_s + phase)


@pytest.fixture(scope='module')
def fast() -> FastTokenizer:
    """The legacy FAST tokenizer of ``checkpoints/fast/reach_ee`` (10 x 7, scale 10)."""
    return FastTokenizer.load(LEGACY)


@pytest.fixture(scope='module')
def saved() -> Path:
    """The folder holding its files."""
    return LEGACY


def test_dct_matrix_is_orthonormal() -> None:
    matrix = dct_matrix(LENGTH)
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(LENGTH), atol=1e-12)


@pytest.mark.parametrize('frequency', [0, 1, 4, 9])
def test_dct_of_a_sampled_cosine_is_one_coefficient(frequency: int) -> None:
    samples = np.arange(LENGTH)
    signal = np.cos(np.pi * (2 * samples + 1) * frequency / (2 * LENGTH))[:, None]
    coefficients = dct_ortho(signal)[:, 0]
    expected = np.zeros(LENGTH)
    expected[frequency] = np.sqrt(LENGTH) if frequency == 0 else np.sqrt(LENGTH / 2)
    np.testing.assert_allclose(coefficients, expected, atol=1e-12)
    np.testing.assert_allclose(idct_ortho(coefficients[:, None]), signal, atol=1e-12)


def test_alphabet_covers_every_chunk_within_the_unit_range(fast: FastTokenizer) -> None:
    # The largest coefficient of a unit-range chunk is the largest row sum of |C|, times scale.
    reach = int(np.ceil(SCALE * np.abs(dct_matrix(LENGTH)).sum(axis=1).max()))
    assert fast.config == FastConfig(LENGTH, DIM, SCALE, -reach, reach)
    assert fast.vocab_size == 256


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (LENGTH, DIM), elements=st.floats(-1.0, 1.0)))
def test_round_trip_error_stays_within_the_rounding_bound(fast: FastTokenizer,
                                                          chunk: np.ndarray) -> None:
    decoded = fast.decode(fast.encode(chunk))
    # BPE is lossless: the only error is the rounding of coefficient * scale.
    np.testing.assert_allclose(decoded, idct_ortho(fast.quantize(chunk) / SCALE), atol=1e-12)
    error = np.abs(decoded - chunk)
    assert error.max() <= max_rounding_error(LENGTH, SCALE) + 1e-12
    # Orthonormal: the per-dimension RMS error equals that of the coefficients, <= 0.5 / scale.
    assert np.sqrt((error ** 2).mean(axis=0)).max() <= 0.5 / SCALE + 1e-12


def test_rounding_bound_is_below_the_cauchy_schwarz_limit() -> None:
    assert max_rounding_error(LENGTH, SCALE) <= 0.5 * np.sqrt(LENGTH) / SCALE
    assert max_rounding_error(LENGTH, SCALE) == pytest.approx(0.1467, abs=1e-4)


def test_coefficients_are_flattened_low_frequency_first_across_dimensions() -> None:
    # With one token per symbol (no merges), the ids are the flattened coefficients - min.
    config = FastConfig(4, 2, 1.0, -3, 3)
    vocabulary = {chr(0x100 + index): index for index in range(config.alphabet_size)}
    fast = FastTokenizer(config, Tokenizer(models.BPE(vocab=vocabulary, merges=[])))
    coefficients = np.array([[2.0, -3.0], [1.0, 0.0], [0.0, 3.0], [-1.0, 1.0]])
    ids = fast.encode(idct_ortho(coefficients))
    np.testing.assert_array_equal(ids - 3, [2, -3, 1, 0, 0, 3, -1, 1])


def test_load_reads_the_legacy_config_and_round_trips(fast: FastTokenizer, saved: Path) -> None:
    assert json.loads((saved / CONFIG_FILENAME).read_text()) == {
        'schema_version': 1, 'chunk_length': LENGTH, 'action_dim': DIM, 'scale': SCALE,
        'min_coefficient': fast.config.min_coefficient,
        'max_coefficient': fast.config.max_coefficient}
    assert (fast.config.min_coefficient, fast.config.max_coefficient) == (-32, 32)
    assert fast.vocab_size == 256


def _malformed(ids: np.ndarray, kind: str, vocab_size: int) -> np.ndarray:
    edits = {
        'truncated': lambda: ids[:-1],
        'appended': lambda: np.append(ids, ids[0]),
        'past_vocabulary': lambda: np.where(np.arange(ids.size) == 1, vocab_size, ids),
        'huge_id': lambda: np.where(np.arange(ids.size) == 1, 2 ** 40, ids),
        'negative': lambda: np.where(np.arange(ids.size) == 1, -5, ids),
        'empty': lambda: ids[:0],
        'two_dimensional': lambda: ids.reshape(1, -1),
        'floats': lambda: ids.astype(np.float64),
    }
    return np.asarray(edits[kind]())


@pytest.mark.parametrize(('kind', 'match'), [
    pytest.param('truncated', r'expand to \d+ DCT coefficients, expected 70', id='truncated'),
    pytest.param('appended', r'expand to \d+ DCT coefficients, expected 70', id='appended'),
    pytest.param('past_vocabulary', r'id 256 at position 1 is not in the vocabulary',
                 id='past_vocabulary'),
    pytest.param('huge_id', r'id 1099511627776 at position 1', id='huge_id'),
    pytest.param('negative', r'id -5 at position 1', id='negative'),
    pytest.param('empty', r'shape \(0,\)', id='empty'),
    pytest.param('two_dimensional', r'expected a non-empty 1-D', id='two_dimensional'),
    pytest.param('floats', r'dtype float64', id='floats'),
])
def test_malformed_token_sequences_raise_instead_of_returning_zeros(
        fast: FastTokenizer, kind: str, match: str) -> None:
    ids = fast.encode(_smooth_chunks(1, seed=3)[0])
    with pytest.raises(PolicyOutputError, match=match):
        fast.decode(_malformed(ids, kind, fast.vocab_size))


@pytest.mark.parametrize(('chunk', 'match'), [
    pytest.param(np.full((LENGTH, DIM), 50.0), r'coefficient 0 of dim 0 rounds to 1581, outside',
                 id='far_outside_unit_range'),
    pytest.param(np.zeros((LENGTH + 1, DIM)), r'shape \(11, 7\), expected \(10, 7\)',
                 id='wrong_shape'),
    pytest.param(np.full((LENGTH, DIM), np.nan), 'NaN or Inf', id='nan'),
])
def test_encode_rejects_unencodable_chunks(fast: FastTokenizer, chunk: np.ndarray,
                                           match: str) -> None:
    with pytest.raises(InputError, match=match):
        fast.encode(chunk)


@pytest.mark.parametrize(('edit', 'match'), [
    pytest.param({'scale': -1.0}, r'scale: -1\.0, expected a finite number > 0', id='scale'),
    pytest.param({'schema_version': 2}, r'schema_version: 2, expected 1', id='schema_version'),
    pytest.param({'chunk_length': 0}, r'chunk_length: 0, expected >= 1', id='chunk_length'),
    pytest.param({'action_dim': 2.5}, r'action_dim: 2\.5, expected an integer', id='action_dim'),
    pytest.param({'min_coefficient': 100}, 'gives -67 symbols', id='min_above_max'),
    pytest.param({'offset': 3}, r"unknown keys \['offset'\]", id='unknown_key'),
    pytest.param({'max_coefficient': 40}, 'lack a token of their own', id='alphabet_too_big'),
    pytest.param({'max_coefficient': 20}, 'symbols outside', id='alphabet_too_small'),
])
def test_load_rejects_an_invalid_config(fast: FastTokenizer, saved: Path, tmp_path: Path,
                                        edit: dict[str, Any], match: str) -> None:
    (tmp_path / TOKENIZER_FILENAME).write_text((saved / TOKENIZER_FILENAME).read_text())
    stored = json.loads((saved / CONFIG_FILENAME).read_text())
    (tmp_path / CONFIG_FILENAME).write_text(json.dumps({**stored, **edit}))
    with pytest.raises(ConfigError, match=match):
        FastTokenizer.load(tmp_path)


@pytest.mark.parametrize(('files', 'match'), [
    pytest.param({}, 'cannot read the FAST config', id='missing'),
    pytest.param({CONFIG_FILENAME: '{'}, 'cannot read the FAST config', id='config_not_json'),
    pytest.param({TOKENIZER_FILENAME: 'not json'}, 'cannot load the BPE tokenizer',
                 id='tokenizer_not_json'),
])
def test_load_rejects_unreadable_files(saved: Path, tmp_path: Path, files: dict[str, str],
                                       match: str) -> None:
    for name in (CONFIG_FILENAME, TOKENIZER_FILENAME):
        (tmp_path / name).write_text(files.get(name, (saved / name).read_text()))
    if not files:
        (tmp_path / CONFIG_FILENAME).unlink()
    with pytest.raises(ConfigError, match=match):
        FastTokenizer.load(tmp_path)


def test_a_tokenizer_with_a_pre_tokenizer_is_refused() -> None:
    config = FastConfig(4, 2, 1.0, 0, 1)
    tokenizer = Tokenizer(models.BPE(vocab={'\u0100': 0, '\u0101': 1}, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(ConfigError, match='plain BPE model without normalizer'):
        FastTokenizer(config, tokenizer)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The released FAST tokenizer's files and algorithm, pinned on examples computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import decoders, models, pre_tokenizers, processors, Tokenizer

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.policies.fast.released_tokenizer import (
    byte_level_table,
    PROCESSOR_CONFIG_FILENAME,
    ReleasedFastTokenizer,
)


def _write_released(folder: Path, vocab: dict[str, int], *, min_token: int,
                    scale: float = 10, extra: dict[str, object] | None = None) -> Path:
    """A released-format folder: processor_config.json as on the Hub, a byte-level BPE."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer.save(str(folder / 'tokenizer.json'))
    config = {'action_dim': None, 'auto_map': {
        'AutoProcessor': 'processing_action_tokenizer.UniversalActionProcessor'},
        'min_token': min_token, 'processor_class': 'UniversalActionProcessor',
        'scale': scale, 'time_horizon': None, 'vocab_size': len(vocab), **(extra or {})}
    (folder / PROCESSOR_CONFIG_FILENAME).write_text(json.dumps(config))
    return folder


@pytest.fixture
def bytes_only(tmp_path: Path) -> ReleasedFastTokenizer:
    """One token per byte-level symbol (no merges), min_token -2, T = 2, D = 1."""
    vocab = {char: index for index, char in enumerate(sorted(byte_level_table()))}
    return ReleasedFastTokenizer.load(_write_released(tmp_path / 'fast', vocab, min_token=-2),
                                      chunk_length=2, action_dim=1)


def test_byte_level_table_is_gpt2s() -> None:
    table = byte_level_table()
    assert len(table) == 256 and sorted(table.values()) == list(range(256))
    assert table['A'] == 0x41 and table['\u0100'] == 0x00 and table['\u0120'] == 0x20
    assert table['\u0143'] == 0xAD and table['\u00ae'] == 0xAE


def test_a_two_step_chunk_is_its_dct_scaled_rounded_and_shifted_by_min_token(
        bytes_only: ReleasedFastTokenizer) -> None:
    # By hand: orthonormal DCT-II of [0.3, 0.1] is [(0.3 + 0.1) / sqrt 2, (0.3 - 0.1) / sqrt 2]
    # = [0.2828, 0.1414]; x 10 and rounded: [3, 1]; minus min_token -2: chr(5), chr(3), one
    # UTF-8 byte each, written as the byte-level symbols U+0105 and U+0103.
    chunk = np.array([[0.3], [0.1]])
    assert bytes_only.quantize(chunk).tolist() == [[3], [1]]
    ids = bytes_only.encode(chunk)
    table = {char: index for index, char in enumerate(sorted(byte_level_table()))}
    assert ids.tolist() == [table['\u0105'], table['\u0103']]
    # Decoding inverts the rounded coefficients: [3, 1] / 10 -> idct -> [0.2828, 0.1414].
    np.testing.assert_allclose(bytes_only.decode(ids)[:, 0],
                               [(0.3 + 0.1) / np.sqrt(2), (0.3 - 0.1) / np.sqrt(2)], atol=1e-12)
    np.testing.assert_allclose(bytes_only.decode(ids)[:, 0],
                               [(3 + 1) / 10 / np.sqrt(2), (3 - 1) / 10 / np.sqrt(2)])


def test_a_coefficient_beyond_127_is_two_utf8_bytes(bytes_only: ReleasedFastTokenizer) -> None:
    # 13.0 and 0.0 -> DCT x 10: [91.92, 91.92] -> [92, 92]; + 2 -> chr(94) = '^', one byte
    # each. 20 and 0 -> [141.4, 141.4] -> 141 + 2 = chr(143) -> UTF-8 C2 8F: two symbols.
    assert bytes_only.encode(np.array([[13.0], [0.0]])).size == 2
    ids = bytes_only.encode(np.array([[20.0], [0.0]]))
    assert ids.size == 4
    assert bytes_only.coefficients(ids).tolist() == [141, 141]


def test_the_hub_processor_config_loads_with_the_shape_from_the_policy(tmp_path: Path) -> None:
    vocab = {char: index for index, char in enumerate(sorted(byte_level_table()))}
    folder = _write_released(tmp_path / 'fast', vocab, min_token=-354)
    fast = ReleasedFastTokenizer.load(folder, chunk_length=10, action_dim=7)
    assert (fast.config.chunk_length, fast.config.action_dim) == (10, 7)
    assert fast.config.min_coefficient == -354 and fast.config.scale == 10.0
    with pytest.raises(ConfigError, match=r'time_horizon is null and the policy does not give'):
        ReleasedFastTokenizer.load(folder)


@pytest.mark.parametrize(('extra', 'message'), [
    ({'processor_class': 'Other'}, r"processor_class 'Other'"),
    ({'bins': 3}, r"unknown keys \['bins'\]"),
    ({'scale': 0}, r'scale: 0.0, expected > 0'),
    ({'min_token': 1.5}, r'min_token: 1.5, expected an integer'),
    ({'time_horizon': 4}, r'time_horizon 4, the policy has 10'),
], ids=['class', 'unknown-key', 'scale', 'min-token', 'horizon'])
def test_an_invalid_processor_config_is_a_config_error(tmp_path: Path, extra: dict[str, object],
                                                      message: str) -> None:
    vocab = {char: index for index, char in enumerate(sorted(byte_level_table()))}
    folder = _write_released(tmp_path / 'fast', vocab, min_token=-4, extra=extra)
    with pytest.raises(ConfigError, match=message):
        ReleasedFastTokenizer.load(folder, chunk_length=10, action_dim=7)


def test_decoding_refuses_what_the_reference_turns_into_zeros(
        bytes_only: ReleasedFastTokenizer) -> None:
    table = {char: index for index, char in enumerate(sorted(byte_level_table()))}
    with pytest.raises(PolicyOutputError, match=r'expected 2 \(chunk_length 2 x action_dim 1\)'):
        bytes_only.decode([table['\u0105']])
    with pytest.raises(PolicyOutputError, match=r'invalid UTF-8'):
        bytes_only.decode([table['\u00c2'], table['\u0105']])  # a lead byte, then no follower
    with pytest.raises(PolicyOutputError, match=r'id 999 at position 1 is not in the vocab'):
        bytes_only.decode([table['\u0105'], 999])


def test_a_coefficient_below_min_token_is_an_input_error_not_a_clamp(
        bytes_only: ReleasedFastTokenizer) -> None:
    with pytest.raises(InputError, match=r'coefficient 0 of dim 0 rounds to -4, below min_token'):
        bytes_only.encode(np.array([[-0.3], [-0.3]]))


def test_fit_writes_the_released_format_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    walks = rng.uniform(-0.5, 0.5, (64, 1, 3)) + np.cumsum(rng.normal(0, 0.05, (64, 8, 3)), 1)
    chunks = np.clip(walks, -1, 1)
    fast = ReleasedFastTokenizer.fit(chunks, vocab_size=400, scale=10.0)
    fast.save(tmp_path / 'action_tokenizer')
    written = json.loads((tmp_path / 'action_tokenizer' / PROCESSOR_CONFIG_FILENAME).read_text())
    assert written == {'action_dim': 3, 'min_token': fast.config.min_coefficient,
                       'processor_class': 'UniversalActionProcessor', 'scale': 10.0,
                       'time_horizon': 8, 'vocab_size': 400}
    raw = json.loads((tmp_path / 'action_tokenizer' / 'tokenizer.json').read_text())
    assert raw['pre_tokenizer']['type'] == 'ByteLevel' and raw['decoder']['type'] == 'ByteLevel'
    loaded = ReleasedFastTokenizer.load(tmp_path / 'action_tokenizer')
    for chunk in chunks[:8]:
        ids = loaded.encode(chunk)
        assert ids.tolist() == fast.encode(chunk).tolist()
        # Lossy only by rounding: at most 0.5 / scale per coefficient, through the idct.
        np.testing.assert_allclose(loaded.decode(ids), chunk, atol=0.5 / 10 * np.sqrt(8))
        assert ids.size < chunk.size  # BPE merged something

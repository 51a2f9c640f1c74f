# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The legacy vla_ros FAST tokenizer (``fast_config.json``, ``fast_tokenizer.json``), read-only.

Checkpoints trained here before FAST training wrote the released layout hold this format
(``checkpoints/fast/reach_ee`` still does); nothing writes it any more. New folders carry the
released ``physical-intelligence/fast`` format (``released_tokenizer.py``).


A normalized chunk (T, D) goes through an orthonormal DCT along time, is multiplied by
``scale`` and rounded to integers (the only lossy step), flattened lowest frequency first
(coefficient k of every dimension before coefficient k + 1), written as one character per
integer and compressed by a byte-pair encoding trained with the ``tokenizers`` library.

Decoding reverses every step and checks it: an unknown id, or a sequence that does not expand
to exactly T * D coefficients, raises PolicyOutputError. The reference decoder returns an
all-zero chunk instead, which a robot executes as "go to the middle of every range".

The alphabet covers every coefficient a chunk within [-1, 1] can produce (plus whatever the
training data reached), so any quantile-normalized chunk encodes. Characters start at U+0100
and stay below the UTF-16 surrogates, which the reference's ``chr(value - min)`` can hit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from tokenizers import models, Tokenizer

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.policies.fast.dct import dct_ortho, idct_ortho

__all__ = [
    'CONFIG_FILENAME', 'DEFAULT_SCALE', 'FastConfig', 'FastTokenizer', 'TOKENIZER_FILENAME',
]

CONFIG_FILENAME = 'fast_config.json'
TOKENIZER_FILENAME = 'fast_tokenizer.json'
SCHEMA_VERSION = 1
DEFAULT_SCALE = 10.0
#: Code point of the smallest coefficient; characters stay below U+D800 (the surrogates).
_CODEPOINT_BASE = 0x100
_MAX_ALPHABET = 0xD800 - _CODEPOINT_BASE


@dataclass(frozen=True, slots=True)
class FastConfig:
    """What a FAST tokenizer needs besides its BPE vocabulary; stored as ``fast_config.json``.

    Attributes:
        chunk_length: T, time steps per chunk.
        action_dim: D, action dimensions per step.
        scale: DCT coefficients are multiplied by this before rounding; larger is finer.
        min_coefficient: smallest rounded coefficient in the alphabet (character U+0100).
        max_coefficient: largest rounded coefficient in the alphabet.
    """

    chunk_length: int
    action_dim: int
    scale: float = DEFAULT_SCALE
    min_coefficient: int = 0
    max_coefficient: int = 0

    def __post_init__(self) -> None:
        for key in ('chunk_length', 'action_dim', 'min_coefficient', 'max_coefficient'):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f'FastConfig.{key}: {value!r}, expected an integer')
        for key in ('chunk_length', 'action_dim'):
            if getattr(self, key) < 1:
                raise ConfigError(f'FastConfig.{key}: {getattr(self, key)!r}, expected >= 1')
        scale = self.scale
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not (
                math.isfinite(scale) and scale > 0.0):
            raise ConfigError(f'FastConfig.scale: {scale!r}, expected a finite number > 0')
        object.__setattr__(self, 'scale', float(scale))
        if not 1 <= self.alphabet_size <= _MAX_ALPHABET:
            raise ConfigError(
                f'FastConfig.max_coefficient: {self.max_coefficient!r} with min_coefficient '
                f'{self.min_coefficient!r} gives {self.alphabet_size} symbols, expected 1 to '
                f'{_MAX_ALPHABET}; lower the scale')

    @property
    def alphabet_size(self) -> int:
        """Number of distinct coefficient values, one character each."""
        return self.max_coefficient - self.min_coefficient + 1

    @classmethod
    def from_json(cls, raw: Any, where: str = CONFIG_FILENAME) -> FastConfig:
        """Build from the parsed JSON mapping; every key is required.

        Raises:
            ConfigError: a missing, unknown or invalid field, named ``<where>.<field>``.
        """
        keys = {'schema_version', 'chunk_length', 'action_dim', 'scale', 'min_coefficient',
                'max_coefficient'}
        if not isinstance(raw, Mapping):
            raise ConfigError(f'{where}: {raw!r}, expected a mapping')
        if set(raw) != keys:
            raise ConfigError(
                f'{where}: unknown keys {sorted(set(raw) - keys)!r}, missing keys '
                f'{sorted(keys - set(raw))!r}')
        if raw['schema_version'] != SCHEMA_VERSION:
            raise ConfigError(
                f'{where}.schema_version: {raw["schema_version"]!r}, expected {SCHEMA_VERSION}')
        try:
            return cls(**{key: raw[key] for key in keys - {'schema_version'}})
        except ConfigError as err:
            raise ConfigError(f'{where}: {err}') from err


class FastTokenizer:
    """Normalized action chunks (T, D) <-> FAST token ids, with a trained BPE vocabulary.

    Read one with ``load`` (a legacy checkpoint folder).
    """

    __slots__ = ('_config', '_tokenizer')

    def __init__(self, config: FastConfig, tokenizer: Tokenizer) -> None:
        """Pair a config with a BPE tokenizer over its alphabet.

        Raises:
            ConfigError: the tokenizer is not a plain BPE over exactly the config's alphabet.
        """
        _check_vocabulary(config, tokenizer)
        self._config = config
        self._tokenizer = tokenizer

    @property
    def config(self) -> FastConfig:
        """Chunk shape, scale and coefficient range."""
        return self._config

    @property
    def vocab_size(self) -> int:
        """Number of FAST token ids; every id is in [0, vocab_size)."""
        return self._tokenizer.get_vocab_size()

    def quantize(self, action_chunk: ArrayLike) -> NDArray[np.int64]:
        """Return the rounded, scaled DCT coefficients (T, D) of a normalized chunk (T, D).

        Raises:
            InputError: the chunk is not (T, D) of this config, or holds NaN or Inf.
        """
        return _quantize(self._config, action_chunk)

    def encode(self, action_chunk: ArrayLike) -> NDArray[np.int64]:
        """Turn a normalized chunk (T, D) into FAST token ids (N,).

        Raises:
            InputError: a wrong shape, NaN or Inf, or a coefficient outside the alphabet
                (a chunk far outside [-1, 1]); the message names the coefficient.
        """
        config = self._config
        quantized = self.quantize(action_chunk)
        outside = np.argwhere((quantized < config.min_coefficient)
                              | (quantized > config.max_coefficient))
        if outside.size:
            frequency, dim = (int(index) for index in outside[0])
            raise InputError(
                f'FAST encode: coefficient {frequency} of dim {dim} rounds to '
                f'{int(quantized[frequency, dim])}, outside the alphabet '
                f'[{config.min_coefficient}, {config.max_coefficient}]; is the chunk normalized?')
        encoding = self._tokenizer.encode(_to_text(config, quantized))
        assert sum(map(len, encoding.tokens)) == quantized.size, 'BPE dropped a symbol'
        return np.asarray(encoding.ids, dtype=np.int64)

    def decode(self, token_ids: ArrayLike) -> NDArray[np.float64]:
        """Turn FAST token ids into the normalized chunk (T, D).

        Raises:
            PolicyOutputError: no ids, an id outside the vocabulary (named by position), or ids
                that expand to more or fewer than T * D coefficients. Never returns zeros.
        """
        config = self._config
        ids = np.asarray(token_ids)
        if ids.ndim != 1 or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
            raise PolicyOutputError(
                f'FAST tokens: shape {ids.shape!r} dtype {ids.dtype}, expected a non-empty 1-D '
                'sequence of integer ids')
        outside = np.flatnonzero((ids < 0) | (ids >= self.vocab_size))
        if outside.size:
            position = int(outside[0])
            raise PolicyOutputError(
                f'FAST tokens: id {int(ids[position])!r} at position {position} is not in the '
                f'vocabulary [0, {self.vocab_size}) ({outside.size} such ids in all)')
        pieces = [self._tokenizer.id_to_token(int(token_id)) for token_id in ids]
        if None in pieces:
            position = pieces.index(None)
            raise PolicyOutputError(
                f'FAST tokens: id {int(ids[position])!r} at position {position} has no token')
        codes = np.frombuffer(''.join(p for p in pieces if p).encode('utf-32-le'), np.uint32)
        expected = config.chunk_length * config.action_dim
        if codes.size != expected:
            raise PolicyOutputError(
                f'FAST tokens: {ids.size} ids expand to {codes.size} DCT coefficients, expected '
                f'{expected} (chunk_length {config.chunk_length} x action_dim '
                f'{config.action_dim}); refusing to pad, truncate or return zeros')
        quantized = codes.astype(np.int64) - _CODEPOINT_BASE + config.min_coefficient
        return idct_ortho(quantized.reshape(config.chunk_length, config.action_dim) / config.scale)

    @classmethod
    def load(cls, directory: Path | str) -> FastTokenizer:
        """Read a tokenizer that ``save`` wrote.

        Raises:
            ConfigError: a file is missing or unreadable, or its content is invalid.
        """
        config_path = Path(directory) / CONFIG_FILENAME
        tokenizer_path = Path(directory) / TOKENIZER_FILENAME
        try:
            raw = json.loads(config_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f'{config_path}: cannot read the FAST config: {err}') from err
        config = FastConfig.from_json(raw, where=str(config_path))
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as err:  # the Rust side raises a bare Exception for every failure
            raise ConfigError(f'{tokenizer_path}: cannot load the BPE tokenizer: {err}') from err
        try:
            return cls(config, tokenizer)
        except ConfigError as err:
            raise ConfigError(f'{tokenizer_path}: {err}') from err


def _quantize(config: FastConfig, action_chunk: ArrayLike) -> NDArray[np.int64]:
    chunk = np.asarray(action_chunk, dtype=np.float64)
    if chunk.shape != (config.chunk_length, config.action_dim):
        raise InputError(
            f'FAST: chunk of shape {chunk.shape!r}, expected '
            f'({config.chunk_length}, {config.action_dim})')
    if not np.all(np.isfinite(chunk)):
        raise InputError('FAST: chunk contains NaN or Inf')
    return np.around(dct_ortho(chunk) * config.scale).astype(np.int64)


def _to_text(config: FastConfig, quantized: NDArray[np.int64]) -> str:
    """One character per coefficient, row-major over (frequency, dim): low frequencies first."""
    codes = quantized.reshape(-1) - config.min_coefficient + _CODEPOINT_BASE
    return codes.astype('<u4').tobytes().decode('utf-32-le')


def _check_vocabulary(config: FastConfig, tokenizer: Tokenizer) -> None:
    """Refuse a tokenizer that could drop, split or invent symbols for ``config``'s alphabet."""
    if not isinstance(tokenizer.model, models.BPE) or tokenizer.normalizer is not None or (
            tokenizer.pre_tokenizer is not None):
        raise ConfigError(
            'FAST tokenizer: expected a plain BPE model without normalizer or pre-tokenizer, '
            f'got {type(tokenizer.model).__name__}')
    vocabulary: Sequence[str] = list(tokenizer.get_vocab())
    if not all(vocabulary):
        raise ConfigError('FAST tokenizer: the vocabulary holds an empty token')
    codes = np.frombuffer(''.join(vocabulary).encode('utf-32-le'), np.uint32).astype(np.int64)
    symbols = codes - _CODEPOINT_BASE
    if symbols.min() < 0 or symbols.max() >= config.alphabet_size:
        raise ConfigError(
            f'FAST tokenizer: tokens use symbols outside the {config.alphabet_size} of the '
            f'config (coefficients {config.min_coefficient} to {config.max_coefficient})')
    singles = {token for token in vocabulary if len(token) == 1}
    missing = config.alphabet_size - len(singles)
    if missing:
        raise ConfigError(
            f'FAST tokenizer: {missing} coefficient symbols lack a token of their own, so '
            'encoding would drop them')

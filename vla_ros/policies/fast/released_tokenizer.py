# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The FAST tokenizer as released (``physical-intelligence/fast``), its files and its algorithm.

A released FAST tokenizer is a folder with ``processor_config.json`` (``scale``, ``min_token``,
``vocab_size``, ``time_horizon`` and ``action_dim``, the last two often null;
``processor_class`` ``UniversalActionProcessor``) and the ``tokenizers`` files of its BPE
(``tokenizer.json``, ``tokenizer_config.json``). LeRobot keeps one as ``action_tokenizer/``
next to a pi0-FAST policy; ``ReleasedFastTokenizer.fit`` writes the same kind of folder.

Encoding, as ``processing_action_tokenizer.py`` does it: an orthonormal DCT-II along time
(``scipy.fft.dct(norm='ortho')``), times ``scale``, rounded; the (T, D) coefficients
flattened row-major (coefficient k of every dimension before k + 1); each coefficient q
written as the character ``chr(q - min_token)``; that text through the BPE tokenizer, which
(a byte-level BPE, as released) turns it into UTF-8 bytes, splits it with the GPT-2 pattern
and merges. Decoding reverses each step. Two differences, both refusals where the reference
guesses: a coefficient below ``min_token`` is an InputError (the reference clamps it), and
ids that do not spell valid UTF-8 or exactly T * D coefficients are a PolicyOutputError (the
reference prints the error and returns an all-zero chunk).
"""

from __future__ import annotations

from collections.abc import Mapping
import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from tokenizers import decoders, models, pre_tokenizers, processors, Tokenizer, trainers

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.policies.fast.dct import dct_matrix, dct_ortho, idct_ortho
from vla_ros.policies.fast.fast_tokenizer import DEFAULT_SCALE, FastConfig

__all__ = ['PROCESSOR_CONFIG_FILENAME', 'RELEASED_TOKENIZER_FILENAME', 'ReleasedFastTokenizer',
           'byte_level_table']

PROCESSOR_CONFIG_FILENAME = 'processor_config.json'
RELEASED_TOKENIZER_FILENAME = 'tokenizer.json'
_PROCESSOR_CLASS = 'UniversalActionProcessor'
_KEYS = frozenset({'scale', 'min_token', 'vocab_size', 'time_horizon', 'action_dim',
                   'processor_class', 'auto_map'})
#: ``PreTrainedTokenizerFast`` settings the reference's ``fit`` saves with its BPE.
_TOKENIZER_CONFIG = {'clean_up_tokenization_spaces': False,
                     'tokenizer_class': 'PreTrainedTokenizerFast', 'added_tokens_decoder': {}}


@functools.cache
def byte_level_table() -> dict[str, int]:
    """Byte-level BPE character -> byte (GPT-2's table).

    Printable bytes stand for themselves, the other 68 for U+0100 onwards, in byte order.
    """
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [value for value in range(256) if value not in printable]
    table = {chr(value): value for value in printable}
    table.update({chr(0x100 + index): value for index, value in enumerate(others)})
    return table


def _number(raw: Mapping[str, Any], key: str, where: Path, *, integer: bool) -> Any:
    value = raw.get(key)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise ConfigError(f'{where}: {key}: {value!r}, expected '
                          f'{"an integer" if integer else "a finite number"}')
    return value


def _read_processor_config(path: Path) -> tuple[float, int, int, int | None, int | None]:
    try:
        raw = json.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f'{path}: cannot read the FAST processor config ({err.strerror})'
                          ) from err
    except json.JSONDecodeError as err:
        raise ConfigError(f'{path}: the FAST processor config is not valid JSON: {err}') from err
    if not isinstance(raw, dict):
        raise ConfigError(f'{path}: expected a JSON object')
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f'{path}: unknown keys {unknown!r}; a FAST processor config has '
                          f'{sorted(_KEYS)!r}')
    if raw.get('processor_class', _PROCESSOR_CLASS) != _PROCESSOR_CLASS:
        raise ConfigError(f'{path}: processor_class {raw["processor_class"]!r}, expected '
                          f'{_PROCESSOR_CLASS!r}')
    scale = float(_number(raw, 'scale', path, integer=False))
    if scale <= 0:
        raise ConfigError(f'{path}: scale: {scale!r}, expected > 0')
    shape = [None if raw.get(key) is None else int(_number(raw, key, path, integer=True))
             for key in ('time_horizon', 'action_dim')]
    return (scale, int(_number(raw, 'min_token', path, integer=True)),
            int(_number(raw, 'vocab_size', path, integer=True)), shape[0], shape[1])


def _check_tokenizer(tokenizer: Tokenizer, where: Path) -> bool:
    """Refuse what the reference's files never hold; True for a byte-level BPE."""
    byte_level = isinstance(tokenizer.pre_tokenizer, pre_tokenizers.ByteLevel)
    if not isinstance(tokenizer.model, models.BPE) or tokenizer.normalizer is not None:
        raise ConfigError(f'{where}: expected a BPE model without normalizer, got '
                          f'{type(tokenizer.model).__name__}')
    if tokenizer.pre_tokenizer is not None and not byte_level:
        raise ConfigError(f'{where}: pre-tokenizer {type(tokenizer.pre_tokenizer).__name__}, '
                          'expected ByteLevel (as released) or none')
    decoder = tokenizer.decoder
    if byte_level != isinstance(decoder, decoders.ByteLevel) or (
            decoder is not None and not isinstance(decoder, decoders.ByteLevel)):
        raise ConfigError(f'{where}: decoder {type(decoder).__name__}, expected ByteLevel with a '
                          'ByteLevel pre-tokenizer and none without')
    if tokenizer.get_added_tokens_decoder():
        raise ConfigError(f'{where}: the BPE has added tokens; the released one has none')
    return byte_level


class ReleasedFastTokenizer:
    """Normalized chunks (T, D) <-> FAST ids, with a released-format tokenizer (module doc).

    Args:
        config: chunk shape (T, D) and scale; ``min_coefficient`` is the file's ``min_token``.
        tokenizer: the BPE, as ``tokenizer.json`` holds it.
        declared_vocab_size: ``processor_config.json``'s ``vocab_size``.
    """

    __slots__ = ('_byte_level', '_config', '_declared_vocab_size', '_tokenizer')

    def __init__(self, config: FastConfig, tokenizer: Tokenizer, *,
                 declared_vocab_size: int) -> None:
        self._byte_level = _check_tokenizer(tokenizer, Path(RELEASED_TOKENIZER_FILENAME))
        self._config = config
        self._tokenizer = tokenizer
        self._declared_vocab_size = declared_vocab_size

    @property
    def config(self) -> FastConfig:
        """Chunk shape, scale and ``min_token`` (as ``min_coefficient``)."""
        return self._config

    @property
    def vocab_size(self) -> int:
        """Number of FAST ids the BPE uses; every id is in [0, vocab_size)."""
        return self._tokenizer.get_vocab_size()

    @classmethod
    def load(cls, directory: Path, *, chunk_length: int | None = None,
             action_dim: int | None = None) -> ReleasedFastTokenizer:
        """Read a released-format folder; the chunk shape comes from the file or the caller.

        Raises:
            ConfigError: a missing or invalid file, a shape neither gives, or one that
                disagrees with the file's.
        """
        path = Path(directory) / PROCESSOR_CONFIG_FILENAME
        scale, min_token, declared, horizon, dim = _read_processor_config(path)
        shape = []
        for key, stored, given in (('time_horizon', horizon, chunk_length),
                                   ('action_dim', dim, action_dim)):
            if stored is not None and given is not None and stored != given:
                raise ConfigError(f'{path}: {key} {stored}, the policy has {given}')
            if stored is None and given is None:
                raise ConfigError(f'{path}: {key} is null and the policy does not give it')
            shape.append(int(given if given is not None else stored))  # type: ignore[arg-type]
        tokenizer_path = Path(directory) / RELEASED_TOKENIZER_FILENAME
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as err:  # the Rust side raises a bare Exception for every failure
            raise ConfigError(f'{tokenizer_path}: cannot load the BPE tokenizer: {err}') from err
        config = FastConfig(shape[0], shape[1], scale, min_token, min_token)
        try:
            return cls(config, tokenizer, declared_vocab_size=declared)
        except ConfigError as err:
            raise ConfigError(f'{tokenizer_path}: {err}') from err

    def save(self, directory: Path) -> None:
        """Write ``processor_config.json``, ``tokenizer.json`` and ``tokenizer_config.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = self._config
        processor = {'action_dim': config.action_dim, 'min_token': config.min_coefficient,
                     'processor_class': _PROCESSOR_CLASS, 'scale': config.scale,
                     'time_horizon': config.chunk_length,
                     'vocab_size': self._declared_vocab_size}
        (directory / PROCESSOR_CONFIG_FILENAME).write_text(json.dumps(processor, indent=2) + '\n')
        self._tokenizer.save(str(directory / RELEASED_TOKENIZER_FILENAME))
        (directory / 'tokenizer_config.json').write_text(
            json.dumps(_TOKENIZER_CONFIG, indent=2) + '\n')

    @classmethod
    def fit(cls, action_chunks: ArrayLike, *, vocab_size: int = 1024,
            scale: float = DEFAULT_SCALE) -> ReleasedFastTokenizer:
        """Train a byte-level BPE on normalized chunks (N, T, D), as the reference's ``fit``.

        The alphabet is every character from ``chr(0)`` to ``chr(max - min)``, where min and
        max also cover any chunk within [-1, 1], plus the 256 byte-level symbols, so every
        coefficient at or above ``min_token`` encodes (the reference covers the training
        data's range only).

        Raises:
            InputError: the chunks are not (N, T, D), or hold NaN or Inf.
            ConfigError: an invalid ``vocab_size`` or ``scale``.
        """
        chunks = np.asarray(action_chunks, dtype=np.float64)
        if chunks.ndim != 3 or 0 in chunks.shape:
            raise InputError(f'FAST fit: chunks of shape {chunks.shape!r}, expected (N, T, D)')
        if not np.all(np.isfinite(chunks)):
            raise InputError('FAST fit: chunks contain NaN or Inf')
        _, length, action_dim = chunks.shape
        shape = FastConfig(length, action_dim, scale)
        reach = math.ceil(shape.scale * float(np.abs(dct_matrix(length)).sum(axis=1).max()))
        quantized = np.around(np.stack([dct_ortho(chunk) for chunk in chunks]) * shape.scale)
        low, high = min(-reach, int(quantized.min())), max(reach, int(quantized.max()))
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 256:
            raise ConfigError(f'FAST fit: vocab_size {vocab_size!r}, expected an integer >= 256 '
                              '(the byte-level symbols)')
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
        alphabet = sorted({chr(code) for code in range(high - low + 1)}
                          | set(pre_tokenizers.ByteLevel.alphabet()))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2,
                                      show_progress=False, special_tokens=[],
                                      initial_alphabet=alphabet, max_token_length=10000)
        texts = [_text(q.astype(np.int64), low) for q in quantized]
        tokenizer.train_from_iterator(texts, trainer=trainer)
        return cls(FastConfig(length, action_dim, shape.scale, low, low), tokenizer,
                   declared_vocab_size=vocab_size)

    def quantize(self, action_chunk: ArrayLike) -> NDArray[np.int64]:
        """The rounded, scaled DCT coefficients (T, D) of a normalized chunk (T, D).

        Raises:
            InputError: the chunk is not (T, D) of this config, or holds NaN or Inf.
        """
        config = self._config
        chunk = np.asarray(action_chunk, dtype=np.float64)
        if chunk.shape != (config.chunk_length, config.action_dim):
            raise InputError(f'FAST: chunk of shape {chunk.shape!r}, expected '
                             f'({config.chunk_length}, {config.action_dim})')
        if not np.all(np.isfinite(chunk)):
            raise InputError('FAST: chunk contains NaN or Inf')
        return np.around(dct_ortho(chunk) * config.scale).astype(np.int64)

    def encode(self, action_chunk: ArrayLike) -> NDArray[np.int64]:
        """A normalized chunk (T, D) -> FAST ids (N,), as the reference encodes it.

        Raises:
            InputError: a wrong shape, NaN or Inf, a coefficient below ``min_token``, or one
                the BPE cannot spell.
        """
        quantized = self.quantize(action_chunk)
        low = self._config.min_coefficient
        below = np.argwhere(quantized < low)
        if below.size:
            frequency, dim = (int(index) for index in below[0])
            raise InputError(f'FAST encode: coefficient {frequency} of dim {dim} rounds to '
                             f'{int(quantized[frequency, dim])}, below min_token {low}; is the '
                             'chunk normalized?')
        ids = np.asarray(self._tokenizer.encode(_text(quantized, low)).ids, dtype=np.int64)
        try:
            spelled = self.coefficients(ids)
        except PolicyOutputError as err:
            raise InputError(f'FAST encode: the BPE cannot spell this chunk ({err})') from err
        if not np.array_equal(spelled, quantized.reshape(-1)):
            raise InputError('FAST encode: the BPE dropped coefficients outside its alphabet')
        return ids

    def coefficients(self, token_ids: ArrayLike) -> NDArray[np.int64]:
        """FAST ids -> the flat rounded coefficients they spell (any count).

        Raises:
            PolicyOutputError: not a 1-D integer sequence, an id outside the vocabulary, or
                bytes that are not UTF-8 (named by position).
        """
        ids = np.asarray(token_ids)
        if ids.ndim != 1 or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
            raise PolicyOutputError(f'FAST tokens: shape {ids.shape!r} dtype {ids.dtype}, '
                                    'expected a non-empty 1-D sequence of integer ids')
        outside = np.flatnonzero((ids < 0) | (ids >= self.vocab_size))
        if outside.size:
            position = int(outside[0])
            raise PolicyOutputError(f'FAST tokens: id {int(ids[position])!r} at position '
                                    f'{position} is not in the vocabulary [0, {self.vocab_size})')
        pieces = [self._tokenizer.id_to_token(int(token_id)) or '' for token_id in ids]
        text = ''.join(pieces)
        if self._byte_level:
            table = byte_level_table()
            unknown = [char for char in text if char not in table]
            if unknown:
                raise PolicyOutputError(f'FAST tokens: symbol {unknown[0]!r} is no byte-level '
                                        'byte (a token the encoder never produces)')
            try:
                text = bytes(table[char] for char in text).decode('utf-8')
            except UnicodeDecodeError as err:
                raise PolicyOutputError(f'FAST tokens: the ids spell invalid UTF-8 ({err.reason} '
                                        f'at byte {err.start}); refusing to guess') from err
        codes = np.frombuffer(text.encode('utf-32-le'), np.uint32).astype(np.int64)
        return codes + self._config.min_coefficient

    def decode(self, token_ids: ArrayLike) -> NDArray[np.float64]:
        """FAST ids -> the normalized chunk (T, D), as the reference decodes a valid sequence.

        Raises:
            PolicyOutputError: an invalid id or byte sequence, or a coefficient count other
                than T * D. Never returns zeros.
        """
        config = self._config
        flat = self.coefficients(token_ids)
        expected = config.chunk_length * config.action_dim
        if flat.size != expected:
            raise PolicyOutputError(
                f'FAST tokens: {np.asarray(token_ids).size} ids spell {flat.size} DCT '
                f'coefficients, expected {expected} (chunk_length {config.chunk_length} x '
                f'action_dim {config.action_dim}); refusing to pad, truncate or return zeros')
        return idct_ortho(flat.reshape(config.chunk_length, config.action_dim) / config.scale)


def _text(quantized: NDArray[np.int64], min_token: int) -> str:
    """One character ``chr(q - min_token)`` per coefficient, row-major (low frequencies first)."""
    codes = quantized.reshape(-1) - min_token
    return codes.astype('<u4').tobytes().decode('utf-32-le')

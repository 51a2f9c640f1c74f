# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Discrete action tokens (RT-2, OpenVLA): one token per action dimension and time step.

Each normalized action value in [-1, 1] falls into one of ``n_bins`` uniform bins, and bin k
becomes token id ``vocab_size - 1 - k``: the actions take over the last ``n_bins`` ids of a
language model's vocabulary, lowest action at the highest id, as OpenVLA does. Decoding maps
an id back to its bin centre and refuses any id outside that range, since a language model can
emit any id of its vocabulary.

``BinLayout.OPENVLA_EDGES`` reproduces OpenVLA's arithmetic exactly: ``n_bins`` bin *edges*
(``linspace(-1, 1, 256)``), so only ``n_bins - 1`` centres; the top id stands for exactly +1
and decodes to the last centre. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.core.normalization import QuantileStats

__all__ = ['ActionTokenizer', 'BinLayout', 'decode_actions', 'encode_actions']


class BinLayout(enum.Enum):
    """How [-1, 1] is cut into bins."""

    #: ``n_bins`` bins of width 2 / n_bins; the round trip is within 1 / n_bins.
    UNIFORM = 'uniform'
    #: OpenVLA's ``n_bins`` edges and ``n_bins - 1`` bins; round trip within 1 / (n_bins - 1).
    OPENVLA_EDGES = 'openvla_edges'


@dataclass(frozen=True, slots=True)
class ActionTokenizer:
    """Normalized actions (T, D) in [-1, 1] <-> token ids (T, D), the last ids of a vocabulary.

    Attributes:
        vocab_size: size V of the language model's vocabulary; actions use ids V - n_bins
            to V - 1.
        n_bins: number of action tokens (256 for RT-2 and OpenVLA).
        layout: how [-1, 1] is cut into bins; ``OPENVLA_EDGES`` for OpenVLA checkpoints.
    """

    vocab_size: int
    n_bins: int = 256
    layout: BinLayout = BinLayout.UNIFORM

    def __post_init__(self) -> None:
        for key, minimum in (('n_bins', 2), ('vocab_size', self.n_bins)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(
                    f'ActionTokenizer.{key}: {value!r}, expected an integer >= {minimum}')
        if not isinstance(self.layout, BinLayout):
            raise ConfigError(
                f'ActionTokenizer.layout: {self.layout!r}, expected a BinLayout')

    @property
    def first_token_id(self) -> int:
        """Lowest action token id, ``vocab_size - n_bins``."""
        return self.vocab_size - self.n_bins

    @property
    def bin_width(self) -> float:
        """Width of one bin in normalized units; a round trip errs by at most half of it."""
        intervals = self.n_bins if self.layout is BinLayout.UNIFORM else self.n_bins - 1
        return 2.0 / intervals

    @property
    def bin_centers(self) -> NDArray[np.float64]:
        """Normalized value each bin decodes to, lowest bin first."""
        count = self.n_bins if self.layout is BinLayout.UNIFORM else self.n_bins - 1
        centers: NDArray[np.float64] = -1.0 + (np.arange(count, dtype=np.float64) + 0.5) * (
            self.bin_width)
        return centers

    def encode(self, actions: ArrayLike) -> NDArray[np.int64]:
        """Turn normalized actions (T, D) into token ids (T, D); values are clipped to [-1, 1].

        Raises:
            InputError: ``actions`` is not a non-empty 2-D array, or holds NaN or Inf.
        """
        values = np.asarray(actions, dtype=np.float64)
        if values.ndim != 2 or values.size == 0:
            raise InputError(
                f'ActionTokenizer.encode: actions of shape {values.shape!r}, expected (T, D)')
        if not np.all(np.isfinite(values)):
            raise InputError('ActionTokenizer.encode: actions contain NaN or Inf')
        clipped = np.clip(values, -1.0, 1.0)
        if self.layout is BinLayout.UNIFORM:
            bins = np.minimum(np.floor((clipped + 1.0) / self.bin_width), self.n_bins - 1)
        else:  # np.digitize against linspace(-1, 1, n_bins), minus one: +1 lands in n_bins - 1
            edges = np.linspace(-1.0, 1.0, self.n_bins)
            bins = np.digitize(clipped, edges) - 1
        return (self.vocab_size - 1 - bins).astype(np.int64)

    def decode(self, token_ids: ArrayLike, action_dim: int) -> NDArray[np.float64]:
        """Turn a flat sequence of T * D ids, or a (T, D) array, into normalized actions (T, D).

        Args:
            token_ids: ids as the model generated them, time-major (all dims of step 0 first).
            action_dim: D, the number of action dimensions per time step.

        Returns:
            (T, D) bin centres in [-1, 1].

        Raises:
            ConfigError: ``action_dim`` is not a positive integer.
            PolicyOutputError: no ids, a count that is not a multiple of ``action_dim``, or an
                id outside the action range (named by position, step and dimension).
        """
        if isinstance(action_dim, bool) or not isinstance(action_dim, int) or action_dim < 1:
            raise ConfigError(f'action_dim: {action_dim!r}, expected an integer >= 1')
        ids = np.asarray(token_ids)
        width = ids.shape[-1] if ids.ndim == 2 else action_dim
        if ids.size == 0 or ids.size % action_dim or ids.ndim > 2 or width != action_dim:
            raise PolicyOutputError(
                f'action tokens: shape {ids.shape!r}, expected T * {action_dim} ids with T >= 1')
        if not np.issubdtype(ids.dtype, np.integer):
            raise PolicyOutputError(f'action tokens: dtype {ids.dtype}, expected integer ids')
        flat = ids.reshape(-1).astype(np.int64)
        outside = np.flatnonzero((flat < self.first_token_id) | (flat >= self.vocab_size))
        if outside.size:
            position = int(outside[0])
            step, dim = divmod(position, action_dim)
            raise PolicyOutputError(
                f'action tokens: id {int(flat[position])!r} at position {position} (step {step}, '
                f'dim {dim}) is not an action token; expected {self.first_token_id} to '
                f'{self.vocab_size - 1} ({outside.size} such ids in all)')
        centers = self.bin_centers
        bins = np.minimum(self.vocab_size - 1 - flat, len(centers) - 1)
        decoded: NDArray[np.float64] = centers[bins].reshape(-1, action_dim)
        return decoded


def encode_actions(actions: ArrayLike, *, tokenizer: ActionTokenizer,
                   stats: QuantileStats) -> NDArray[np.int64]:
    """Normalize robot-unit actions (T, D) with ``stats`` and turn them into token ids (T, D).

    Dimensions that ``stats.mask`` leaves raw are tokenized as they are (clipped to [-1, 1]),
    as OpenVLA does with the gripper.

    Raises:
        InputError: ``actions`` is not (T, D) with D = ``stats.dim``, or holds NaN or Inf.
    """
    return tokenizer.encode(stats.normalize(actions))


def decode_actions(token_ids: ArrayLike, *, tokenizer: ActionTokenizer,
                   stats: QuantileStats) -> NDArray[np.float64]:
    """Turn the model's action token ids into robot-unit actions (T, D = ``stats.dim``).

    Raises:
        PolicyOutputError: the ids are no valid action sequence (see ``ActionTokenizer.decode``).
    """
    return stats.unnormalize(tokenizer.decode(token_ids, stats.dim))

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Orthonormal DCT-II along time, with numpy alone, as FAST compresses action chunks.

A matrix C (T, T) with C[k, n] = s_k cos(pi (2n + 1) k / 2T), s_0 = sqrt(1/T) and
s_k = sqrt(2/T), is orthonormal, so the inverse is its transpose. This equals
``scipy.fft.dct(x, type=2, norm='ortho', axis=0)``; scipy is not a dependency.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ['dct_matrix', 'dct_ortho', 'idct_ortho', 'max_rounding_error']


@functools.lru_cache(maxsize=16)
def dct_matrix(length: int) -> NDArray[np.float64]:
    """Return the read-only orthonormal DCT-II matrix (length, length): row k is frequency k."""
    samples = np.arange(length, dtype=np.float64)
    angles = np.pi * (2.0 * samples[None, :] + 1.0) * samples[:, None] / (2.0 * length)
    matrix: NDArray[np.float64] = np.sqrt(2.0 / length) * np.cos(angles)
    matrix[0] /= np.sqrt(2.0)
    matrix.setflags(write=False)
    return matrix


def dct_ortho(signal: ArrayLike) -> NDArray[np.float64]:
    """DCT-II of ``signal`` (T, D) along time: (T, D) coefficients, lowest frequency first."""
    values = np.asarray(signal, dtype=np.float64)
    coefficients: NDArray[np.float64] = dct_matrix(values.shape[0]) @ values
    return coefficients


def idct_ortho(coefficients: ArrayLike) -> NDArray[np.float64]:
    """Inverse of ``dct_ortho``: (T, D) coefficients back to the (T, D) signal."""
    values = np.asarray(coefficients, dtype=np.float64)
    signal: NDArray[np.float64] = dct_matrix(values.shape[0]).T @ values
    return signal


def max_rounding_error(length: int, scale: float) -> float:
    """Largest error one sample can get when every coefficient * ``scale`` is rounded.

    Each rounded coefficient is off by at most 0.5 / scale, and sample n of the inverse sums
    those errors with weights C[k, n]; the worst case is 0.5 / scale * max_n sum_k |C[k, n]|,
    which is at most 0.5 * sqrt(T) / scale (Cauchy-Schwarz on a unit column).
    """
    column_sums = np.abs(dct_matrix(length)).sum(axis=0)
    return float(0.5 / scale * column_sums.max())

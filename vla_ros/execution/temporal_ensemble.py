# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""ACT's temporal ensembling: every prediction made for a time step, exponentially weighted.

Each chunk predicts the targets of several future grid steps, and consecutive chunks overlap.
For every step the ensembler keeps the weighted sum and the weight sum of all predictions so
far; prediction number i of a step (i = 0 the oldest) weighs exp(-m * i), the weights of the
ACT paper (m > 0 favours older predictions, m < 0 newer ones). Note that averaging two modes
of a multimodal policy gives an action neither mode proposed (docs/execution.md). numpy only.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import InputError

__all__ = ['TemporalEnsembler']


class TemporalEnsembler:
    """Running exponentially weighted means of the predictions per grid step.

    Args:
        decay: m of the weights exp(-m * i).
    """

    def __init__(self, decay: float) -> None:
        self._decay = decay
        self._sums: dict[int, NDArray[np.float64]] = {}
        self._weights: dict[int, float] = {}
        self._counts: dict[int, int] = {}

    def add(self, steps: NDArray[np.int64], predictions: NDArray[np.float64]
            ) -> NDArray[np.float64]:
        """Add one chunk's predictions and return the ensembled targets of the same steps.

        Args:
            steps: (T,) grid step numbers the rows of ``predictions`` are for.
            predictions: (T, J) targets, rad.

        Returns:
            (T, J) weighted mean of every prediction made so far for each step.

        Raises:
            InputError: ``steps`` and ``predictions`` disagree in length.
        """
        if predictions.ndim != 2 or steps.shape != (predictions.shape[0],):
            raise InputError(f'TemporalEnsembler.add: steps {steps.shape!r}, predictions '
                             f'{predictions.shape!r}; expected (T,) and (T, J)')
        ensembled = np.empty_like(predictions, dtype=np.float64)
        zeros = np.zeros(predictions.shape[1])
        for row, step in enumerate(int(step) for step in steps):
            count = self._counts.get(step, 0)
            weight = float(np.exp(-self._decay * count))
            total = self._sums.get(step, zeros) + weight * predictions[row]
            self._sums[step] = total
            self._weights[step] = self._weights.get(step, 0.0) + weight
            self._counts[step] = count + 1
            ensembled[row] = total / self._weights[step]
        return ensembled

    def forget_before(self, step: int) -> None:
        """Drop the sums of grid steps before ``step`` (they have been executed)."""
        for old in [key for key in self._counts if key < step]:
            del self._sums[old], self._weights[old], self._counts[old]

    def clear(self) -> None:
        """Forget every prediction (after a hold)."""
        self._sums.clear()
        self._weights.clear()
        self._counts.clear()

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""One PNG per evaluated episode: each joint's recorded actions and the policy's chunks.

One panel per joint, time on the x axis (seconds after the episode's first frame, at the time
each target is due): the recorded actions as a black line and every predicted chunk as a thin
coloured line starting at the frame it was predicted from. matplotlib is imported only here,
with the file-only Agg backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vla_ros.data.eval_bag import EpisodeEvaluation

__all__ = ['plot_episode']


def plot_episode(evaluation: EpisodeEvaluation, path: Path, *, title: str) -> None:
    """Draw ``evaluation`` into the PNG file ``path`` (parent directories are created)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = evaluation.joint_names
    dt_s = evaluation.dt_s
    due_s = (np.arange(len(evaluation.recorded)) + 1) * dt_s
    figure, axes = plt.subplots(len(names), 1, figsize=(10, 1.8 * len(names) + 0.8),
                                sharex=True, squeeze=False)
    colours = plt.get_cmap('viridis')(np.linspace(0.0, 0.9, max(1, len(evaluation.chunks))))
    errors = {error.joint: error for error in evaluation.errors}
    for column, (axis, name) in enumerate(zip(axes[:, 0], names)):
        for chunk, colour in zip(evaluation.chunks, colours):
            chunk_due_s = (chunk.frame_index + np.arange(len(chunk.positions)) + 1) * dt_s
            axis.plot(chunk_due_s, chunk.positions[:, column], color=colour, linewidth=0.8,
                      alpha=0.7)
        axis.plot(due_s, evaluation.recorded[:, column], color='black', linewidth=1.6,
                  label='recorded')
        error = errors.get(name)
        label = name if error is None else f'{name}  (MAE {error.mean_abs:.4f})'
        axis.set_ylabel(label, fontsize='small', rotation=0, ha='right', va='center')
        axis.grid(alpha=0.3)
    axes[0, 0].plot([], [], color=colours[-1], linewidth=0.8, label='predicted chunks')
    axes[0, 0].legend(loc='upper right', fontsize='small')
    axes[-1, 0].set_xlabel('time after the first frame [s] (when each target is due)')
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)

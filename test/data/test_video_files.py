# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""MP4 writing leaves the process as it found it, and the frames read back."""

from __future__ import annotations

import os
from pathlib import Path
import threading

import numpy as np
import pytest

from vla_ros.data.video_files import read_video_frames, video_available, VideoWriter

pytestmark = pytest.mark.skipif(not video_available(), reason='PyAV is not installed')


def _scheduling() -> tuple[int, int]:
    return os.sched_getscheduler(0), os.sched_getparam(0).sched_priority


def test_encoding_keeps_the_thread_scheduling_of_the_caller_and_its_new_threads(
        tmp_path: Path) -> None:
    # SVT-AV1 as root turns its caller into a SCHED_FIFO thread unless we put it back.
    before = _scheduling()
    frames = np.stack([np.full((16, 16, 3), 20 * index, dtype=np.uint8) for index in range(4)])
    writer = VideoWriter(tmp_path / 'camera.mp4', fps=10, height=16, width=16)
    for frame in frames:
        writer.add(frame)
    writer.close()

    seen: list[tuple[int, int]] = []
    child = threading.Thread(target=lambda: seen.append(_scheduling()))
    child.start()
    child.join()
    assert _scheduling() == before
    assert seen == [before]
    back = read_video_frames(tmp_path / 'camera.mp4', 0, 4)
    assert back.shape == (4, 16, 16, 3)
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 8.0

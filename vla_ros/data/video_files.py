# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""MP4 video files of RGB frames, written and read with PyAV (FFmpeg's Python binding).

LeRobot stores each camera as MP4, many episodes one after another in a file; an episode is
found by its first frame's timestamp. PyAV is optional: it is imported only here, only when
a video is written or read, and :func:`video_available` says whether it is installed. The
codec is the first of :data:`CODECS` the installed FFmpeg can encode (LeRobot's default,
AV1 with SVT, first); pixels are stored as ``yuv420p``, so the sides must be even and the
frames come back close to, not equal to, what went in.

SVT-AV1, run as root, switches the thread that opens the encoder to real-time scheduling
(SCHED_FIFO, priority 99), and every thread started from it afterwards inherits that: in a
long-lived process (a node, the tests) DDS's busy threads then starve everything else on a
small machine. Every encoder call here therefore restores the calling thread's policy.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import DataError

__all__ = ['CODECS', 'PIXEL_FORMAT', 'VideoWriter', 'read_video_frames', 'video_available']

#: Encoders tried in order.
CODECS = ('libsvtav1', 'libx264', 'libopenh264', 'mpeg4')
PIXEL_FORMAT = 'yuv420p'


def video_available() -> bool:
    """Whether PyAV is installed, so that MP4 files can be written and read."""
    return importlib.util.find_spec('av') is not None


@contextlib.contextmanager
def _scheduling_kept() -> Iterator[None]:
    """Run the block, then put back the calling thread's scheduling policy and priority."""
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        yield
    finally:
        if (os.sched_getscheduler(0), os.sched_getparam(0)) != (policy, param):
            os.sched_setscheduler(0, policy, param)


def _av() -> Any:
    if not video_available():
        raise DataError('MP4 video needs PyAV (the av package), which is not installed')
    return importlib.import_module('av')


class VideoWriter:
    """One MP4 file, frames appended in order; :meth:`close` finishes it."""

    def __init__(self, path: Path, *, fps: int, height: int, width: int) -> None:
        """Create the file and pick the codec.

        Raises:
            DataError: no PyAV, odd image sides, no usable encoder, or an unwritable path.
        """
        if height % 2 or width % 2:
            raise DataError(f'{path}: {width}x{height} images; {PIXEL_FORMAT} video needs even '
                            'sides')
        av = _av()
        self.path = path
        self.frames = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(path), mode='w')
        self._stream: Any = None
        for codec in CODECS:
            try:
                self._stream = self._container.add_stream(codec, rate=fps)
                self.codec = codec
                break
            except (ValueError, av.error.FFmpegError):
                continue
        if self._stream is None:
            self._container.close()
            raise DataError(f'{path}: FFmpeg has none of the encoders {CODECS}')
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = PIXEL_FORMAT

    def add(self, image: NDArray[np.uint8]) -> None:
        """Append one (H, W, 3) uint8 RGB frame.

        Raises:
            DataError: the encoder refused the frame.
        """
        av = _av()
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='rgb24')
        try:
            with _scheduling_kept():
                for packet in self._stream.encode(frame):
                    self._container.mux(packet)
        except (ValueError, av.error.FFmpegError) as err:
            raise DataError(f'{self.path}: {self.codec} refused frame {self.frames}: {err}'
                            ) from err
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file.

        Raises:
            DataError: the encoder or the file failed.
        """
        av = _av()
        try:
            with _scheduling_kept():
                for packet in self._stream.encode():
                    self._container.mux(packet)
                self._container.close()
        except (OSError, ValueError, av.error.FFmpegError) as err:
            raise DataError(f'{self.path}: cannot finish the video: {err}') from err

    def size_bytes(self) -> int:
        """Bytes written to the file so far."""
        return self.path.stat().st_size if self.path.exists() else 0


def read_video_frames(path: Path, first: int, count: int) -> NDArray[np.uint8]:
    """Frames ``first`` to ``first + count - 1`` of an MP4 file, (count, H, W, 3) uint8 RGB.

    Raises:
        DataError: no PyAV, an unreadable file, or fewer frames than asked for.
    """
    av = _av()
    frames = []
    try:
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index >= first + count:
                    break
                if index >= first:
                    frames.append(frame.to_ndarray(format='rgb24'))
    except (OSError, av.error.FFmpegError) as err:
        raise DataError(f'{path}: cannot read the video: {err}') from err
    if len(frames) != count:
        raise DataError(f'{path}: {len(frames)} frames from {first}, expected {count}')
    return np.stack(frames).astype(np.uint8)

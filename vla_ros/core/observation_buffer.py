# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The newest camera images and joint state, kept for the inference worker.

Sensor callbacks write here (cheap: a reference swap under a lock); the worker takes a
consistent snapshot. Ages are measured on the receiver's monotonic clock, so a robot whose
clock differs from ours, or a bag played with another time base, is still judged correctly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import math
import threading

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.config import CameraConfig
from vla_ros.core.errors import InputError
from vla_ros.core.images import require_size
from vla_ros.core.types import Observation

__all__ = ['ObservationBuffer']


class ObservationBuffer:
    """Thread-safe store of the latest input per camera and of the latest joint positions."""

    def __init__(self, cameras: Sequence[CameraConfig], *, stale_after_s: float,
                 clock: Callable[[], float]) -> None:
        self._cameras = {camera.name: camera for camera in cameras}
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._images: dict[str, tuple[float, NDArray[np.uint8]]] = {}
        self._joints: dict[str, tuple[float, float]] = {}

    def put_image(self, camera: str, image: NDArray[np.uint8]) -> None:
        """Store ``camera``'s newest image; raises InputError for an unknown camera or size."""
        config = self._cameras.get(camera)
        if config is None:
            raise InputError(f'unknown camera {camera!r}; configured: {sorted(self._cameras)}')
        require_size(image, height=config.height, width=config.width,
                     where=f'camera {camera!r} ({config.topic})')
        with self._lock:
            self._images[camera] = (self._clock(), image)

    def put_joint_state(self, names: Sequence[str], positions: Sequence[float]) -> None:
        """Store measured positions by joint name; raises InputError for NaN or a size mismatch."""
        if len(names) != len(positions):
            raise InputError(
                f'joint state has {len(names)} names and {len(positions)} positions')
        bad = [name for name, value in zip(names, positions) if not math.isfinite(value)]
        if bad:
            raise InputError(f'joint state has non-finite positions for {bad!r}')
        now = self._clock()
        with self._lock:
            for name, value in zip(names, positions):
                self._joints[name] = (now, float(value))

    def joint_positions(self, names: Sequence[str]) -> NDArray[np.float64]:
        """Latest measured positions of ``names`` (any age); InputError if one never arrived."""
        with self._lock:
            missing = [name for name in names if name not in self._joints]
            if missing:
                raise InputError(f'no joint state received yet for {missing!r}')
            return np.array([self._joints[name][1] for name in names], dtype=np.float64)

    def snapshot(self, joint_names: Sequence[str], instruction: str) -> Observation:
        """A consistent observation of every camera and of ``joint_names``.

        Raises:
            InputError: a camera or joint never received, or older than ``stale_after_s``.
        """
        now = self._clock()
        with self._lock:
            images = dict(self._images)
            joints = {name: self._joints.get(name) for name in joint_names}
        for camera, config in self._cameras.items():
            if camera not in images:
                raise InputError(f'no image received yet from camera {camera!r} ({config.topic})')
            age_s = now - images[camera][0]
            if age_s > self._stale_after_s:
                raise InputError(
                    f'camera {camera!r} ({config.topic}) is stale: last image {age_s:.2f} s ago, '
                    f'limit {self._stale_after_s:.2f} s')
        missing = [name for name, entry in joints.items() if entry is None]
        if missing:
            raise InputError(f'no joint state received yet for {missing!r}')
        oldest_s = max(now - entry[0] for entry in joints.values() if entry is not None)
        if oldest_s > self._stale_after_s:
            raise InputError(
                f'joint state is stale: {oldest_s:.2f} s old, limit {self._stale_after_s:.2f} s')
        return Observation(
            images={camera: entry[1] for camera, entry in images.items()},
            joint_names=tuple(joint_names),
            joint_positions=np.array([joints[n][1] for n in joint_names]),  # type: ignore[index]
            instruction=instruction, stamp_s=now)

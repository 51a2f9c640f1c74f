# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The newest camera images and joint state, kept for the inference worker.

Sensor callbacks write here (cheap: a reference swap under a lock); the worker takes a
consistent snapshot. Ages are measured on the receiver's clock at arrival, which the node sets
to the controllers' clock (simulated time under ``use_sim_time``, monotonic otherwise), so a
robot whose stamps differ from ours, or a bag played with another time base, is still judged
on the clock the commands run on.

A joint state is checked before it is trusted (``JointBounds``): duplicate names, positions
outside the URDF limits (beyond a small tolerance) and a jump from the last accepted value
that the joint could not have made at its velocity limit are ``InputError``s. The message is
then dropped whole, the last accepted state stays, and it turns stale after ``stale_after_s``
if no good message follows (the runner then holds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
import math
import threading

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.config import CameraConfig
from vla_ros.core.errors import InputError
from vla_ros.core.types import Observation

__all__ = ['JointBounds', 'ObservationBuffer']

#: Default slack on a measured position beyond the URDF limits before it counts as a lie, rad
#: (m); the config's ``safety.joint_state_tolerance``.
POSITION_TOLERANCE = 0.05
#: Time added to the interval between two joint states when judging a jump, seconds: covers
#: messages that arrive closer together than they were measured (transport jitter).
JUMP_SLACK_S = 0.05
#: Factor on the velocity limit when judging a jump (a real joint may overshoot its limit
#: briefly, e.g. under gravity or on contact).
JUMP_SPEED_FACTOR = 1.5


@dataclass(frozen=True, slots=True)
class JointBounds:
    """What a measured joint position may be, from the URDF.

    Attributes:
        lower: lowest position, rad (m).
        upper: highest position, rad (m).
        velocity: largest speed, rad/s (m/s); inf: no jump check.
    """

    lower: float
    upper: float
    velocity: float


class ObservationBuffer:
    """Thread-safe store of the latest input per camera and of the latest joint positions."""

    def __init__(self, cameras: Sequence[CameraConfig], *, stale_after_s: float,
                 clock: Callable[[], float],
                 joint_bounds: Mapping[str, JointBounds] | None = None,
                 position_tolerance: float = POSITION_TOLERANCE) -> None:
        self._cameras = {camera.name: camera for camera in cameras}
        self._tolerance = position_tolerance
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._bounds = dict(joint_bounds or {})
        self._lock = threading.Lock()
        self._images: dict[str, tuple[float, NDArray[np.uint8]]] = {}
        # name -> (arrival time, position, measurement time: the stamp, or the arrival).
        self._joints: dict[str, tuple[float, float, float]] = {}

    def put_image(self, camera: str, image: NDArray[np.uint8]) -> None:
        """Store ``camera``'s newest image (its ``crop`` where it has one).

        Raises:
            InputError: an unknown camera, or a frame not of the camera's size.
        """
        config = self._cameras.get(camera)
        if config is None:
            raise InputError(f'unknown camera {camera!r}; configured: {sorted(self._cameras)}')
        image = config.observed(image)
        with self._lock:
            self._images[camera] = (self._clock(), image)

    def put_joint_state(self, names: Sequence[str], positions: Sequence[float], *,
                        stamp_s: float | None = None) -> None:
        """Store measured positions by joint name, after checking them.

        Args:
            names: joint names, each at most once.
            positions: one per name, rad (m).
            stamp_s: when the positions were measured (the message stamp, on the
                controllers' clock); None or 0: unknown, the arrival time is used.

        Raises:
            InputError: a size mismatch, a duplicate name, a non-finite position, a position
                outside its bounds, or a jump its joint cannot make; nothing is stored.
        """
        if len(names) != len(positions):
            raise InputError(
                f'joint state has {len(names)} names and {len(positions)} positions')
        duplicates = sorted({name for name in names if list(names).count(name) > 1})
        if duplicates:
            raise InputError(f'joint state names {duplicates!r} more than once')
        bad = [name for name, value in zip(names, positions) if not math.isfinite(value)]
        if bad:
            raise InputError(f'joint state has non-finite positions for {bad!r}')
        now = self._clock()
        measured_s = stamp_s if stamp_s else now
        with self._lock:
            for name, value in zip(names, positions):
                self._check_bounds(name, float(value), measured_s, now)
            for name, value in zip(names, positions):
                self._joints[name] = (now, float(value), measured_s)

    def _check_bounds(self, name: str, value: float, measured_s: float, now: float) -> None:
        """Raise InputError if ``value`` is outside ``name``'s limits or jumped too far."""
        bounds = self._bounds.get(name)
        if bounds is None:
            return
        if not (bounds.lower - self._tolerance <= value <= bounds.upper + self._tolerance):
            raise InputError(
                f'joint state {name!r} = {value!r} is outside its URDF limits '
                f'[{bounds.lower:.3f}, {bounds.upper:.3f}] by more than '
                f'safety.joint_state_tolerance {self._tolerance:g}')
        previous = self._joints.get(name)
        if previous is None or not math.isfinite(bounds.velocity):
            return
        arrived_s, last, last_measured_s = previous
        interval_s = measured_s - last_measured_s
        if interval_s < 0.0:  # the stamps went back (a new time base): judge by arrival
            interval_s = now - arrived_s
        if interval_s < 0.0:  # the clock itself went back (a simulator reset): a new start
            return
        allowed = JUMP_SPEED_FACTOR * bounds.velocity * (interval_s + JUMP_SLACK_S)
        if abs(value - last) > allowed:
            raise InputError(
                f'joint state {name!r} jumped from {last:.4f} to {value:.4f} in '
                f'{interval_s:.3f} s, faster than its velocity limit {bounds.velocity:.2f} '
                f'allows')

    def joint_positions(self, names: Sequence[str]) -> NDArray[np.float64]:
        """Latest measured positions of ``names`` (any age); InputError if one never arrived."""
        with self._lock:
            missing = [name for name in names if name not in self._joints]
            if missing:
                raise InputError(f'no joint state received yet for {missing!r}')
            return np.array([self._joints[name][1] for name in names], dtype=np.float64)

    def joint_state_age(self, names: Sequence[str]) -> float:
        """Seconds since the oldest of ``names`` last arrived; inf if one never did."""
        now = self._clock()
        with self._lock:
            entries = [self._joints.get(name) for name in names]
        if any(entry is None for entry in entries):
            return math.inf
        return max(now - entry[0] for entry in entries if entry is not None)

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

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""ROS messages <-> vla_ros core types. No logic beyond the field mapping."""

from __future__ import annotations

import array

from builtin_interfaces.msg import Duration, Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np
from numpy.typing import NDArray
from sensor_msgs.msg import CompressedImage, Image, JointState
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from vla_ros.core.errors import InputError
from vla_ros.core.images import decode_compressed_image, decode_image, encode_rgb8
from vla_ros.core.types import JointTrajectoryCommand, NodeState
from vla_ros.execution.runner_status import RunnerStatus
from vla_ros.msg import PolicyStatus

__all__ = ['image_from_msg', 'image_to_msg', 'joint_state_to_msg', 'status_to_diagnostics',
           'status_to_msg',
           'trajectory_from_msg', 'trajectory_to_msg']


def _duration(seconds: float) -> Duration:
    nanoseconds = int(round(seconds * 1e9))
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def image_from_msg(msg: Image | CompressedImage, *, where: str) -> NDArray[np.uint8]:
    """Decode a raw or compressed image message into (H, W, 3) uint8 RGB."""
    if isinstance(msg, CompressedImage):
        return decode_compressed_image(msg.data, where=where)
    return decode_image(encoding=msg.encoding, height=msg.height, width=msg.width,
                        step=msg.step, data=msg.data, where=where)


def image_to_msg(image: NDArray[np.uint8], *, stamp: Time, frame_id: str) -> Image:
    """An rgb8 Image message of an (H, W, 3) uint8 array."""
    height, width, step, data = encode_rgb8(image)
    msg = Image(height=height, width=width, encoding='rgb8', is_bigendian=0, step=step)
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.data = array.array('B', data)  # array assignment skips per-element field checks
    return msg


def joint_state_to_msg(names: tuple[str, ...], positions: NDArray[np.float64],
                       velocities: NDArray[np.float64], *, stamp: Time) -> JointState:
    """A JointState message."""
    msg = JointState(name=list(names), position=positions.tolist(),
                     velocity=velocities.tolist())
    msg.header.stamp = stamp
    return msg


def trajectory_to_msg(command: JointTrajectoryCommand) -> JointTrajectory:
    """A JointTrajectory with a zero stamp: the controller starts it on arrival."""
    msg = JointTrajectory(joint_names=list(command.joint_names))
    for row, time_s in enumerate(command.times_from_start_s):
        point = JointTrajectoryPoint(positions=command.positions[row].tolist(),
                                     time_from_start=_duration(float(time_s)))
        if command.velocities is not None:
            point.velocities = command.velocities[row].tolist()
        msg.points.append(point)
    return msg


def trajectory_from_msg(msg: JointTrajectory) -> JointTrajectoryCommand:
    """The core form of a JointTrajectory; raises InputError for an invalid one."""
    width = len(msg.joint_names)
    for index, point in enumerate(msg.points):
        if len(point.positions) != width or len(point.velocities) not in (0, width):
            raise InputError(
                f'trajectory point {index}: {len(point.positions)} positions and '
                f'{len(point.velocities)} velocities for {width} joints')
    times = [p.time_from_start.sec + 1e-9 * p.time_from_start.nanosec for p in msg.points]
    positions = [list(p.positions) for p in msg.points]
    with_velocities = bool(msg.points) and all(len(p.velocities) for p in msg.points)
    velocities = [list(p.velocities) for p in msg.points] if with_velocities else None
    return JointTrajectoryCommand(
        tuple(msg.joint_names), np.array(times), np.array(positions, dtype=np.float64),
        None if velocities is None else np.array(velocities, dtype=np.float64))


def status_to_msg(status: RunnerStatus, *, stamp: Time, dry_run: bool) -> PolicyStatus:
    """The PolicyStatus message of a runner status."""
    msg = PolicyStatus(state=status.state.value, instruction=status.instruction,
                       last_error=status.last_error,
                       last_inference_latency_ms=status.last_latency_ms,
                       last_server_time_ms=status.last_server_ms,
                       mean_inference_latency_ms=status.mean_latency_ms,
                       chunks_published=status.chunks, errors=status.errors,
                       safety_corrections=status.corrections,
                       conversion_corrections=status.conversion_corrections,
                       last_conversion=status.last_conversion, stopped=status.stopped,
                       dry_run=dry_run)
    msg.header.stamp = stamp
    return msg


def status_to_diagnostics(status: RunnerStatus, *, name: str, stamp: Time) -> DiagnosticArray:
    """A /diagnostics array with one entry for the policy node."""
    level = {NodeState.ERROR: DiagnosticStatus.ERROR, NodeState.HOLDING: DiagnosticStatus.WARN
             }.get(status.state, DiagnosticStatus.OK)
    values = {'state': status.state.name, 'instruction': status.instruction,
              'chunks_published': str(status.chunks), 'errors': str(status.errors),
              'safety_corrections': str(status.corrections),
              'conversion_corrections': str(status.conversion_corrections),
              'last_conversion': status.last_conversion, 'stopped': str(status.stopped),
              'mean_inference_latency_ms': f'{status.mean_latency_ms:.1f}',
              'last_server_time_ms': f'{status.last_server_ms:.1f}'}
    entry = DiagnosticStatus(level=level, name=name, hardware_id='vla_ros',
                             message=status.last_error or status.state.name.lower(),
                             values=[KeyValue(key=k, value=v) for k, v in values.items()])
    array_msg = DiagnosticArray(status=[entry])
    array_msg.header.stamp = stamp
    return array_msg

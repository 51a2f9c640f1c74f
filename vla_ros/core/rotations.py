# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Rotation matrices to and from the vectors policies emit: Euler angles, axis-angle and 6D.

Conventions (numpy only, so the core, the sim and the execution layer share one definition):

- Euler angles are URDF's roll-pitch-yaw: ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)``, i.e. rotations
  about the fixed x, y, z axes in that order. ``matrix_to_rpy`` returns pitch in
  [-pi/2, pi/2] and roll, yaw in (-pi, pi]; at pitch = +-pi/2 it puts all of the free angle
  into yaw (roll = 0).
- Axis-angle is the rotation vector ``angle * unit_axis``, angle in [0, pi].
- 6D is the first two columns of ``R``, stacked (column 0 then column 1), as in Zhou et al.,
  "On the Continuity of Rotation Representations in Neural Networks" (2019); decoding
  orthonormalises them by Gram-Schmidt, so any two independent 3-vectors give a rotation.
"""

from __future__ import annotations

import enum

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import PolicyOutputError

__all__ = [
    'RotationRepresentation', 'axis_angle_to_matrix', 'matrix_to_axis_angle',
    'matrix_to_quaternion', 'matrix_to_rotation_6d', 'matrix_to_rpy', 'matrix_to_vector',
    'rotation_6d_to_matrix',
    'rotation_angle', 'rpy_to_matrix', 'vector_to_matrix',
]

#: Below this angle (rad) the axis-angle maps use their series expansions.
_SMALL_ANGLE_RAD = 1e-9


class RotationRepresentation(enum.Enum):
    """How a policy's action row encodes a rotation (or no rotation at all)."""

    EULER = 'euler'
    AXIS_ANGLE = 'axis_angle'
    ROTATION_6D = 'rotation_6d'
    NONE = 'none'

    @property
    def width(self) -> int:
        """Numbers per rotation in an action row."""
        return {'euler': 3, 'axis_angle': 3, 'rotation_6d': 6, 'none': 0}[self.value]


def rpy_to_matrix(rpy_rad: NDArray[np.float64]) -> NDArray[np.float64]:
    """(3, 3) rotation of roll-pitch-yaw ``rpy_rad`` (3,), URDF convention."""
    roll, pitch, yaw = (float(angle) for angle in rpy_rad)
    cr, sr, cp, sp, cy, sy = (np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch),
                              np.cos(yaw), np.sin(yaw))
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr]])


def matrix_to_rpy(rotation: NDArray[np.float64]) -> NDArray[np.float64]:
    """(3,) roll-pitch-yaw, rad, of the (3, 3) rotation ``rotation``."""
    pitch = float(np.arctan2(-rotation[2, 0], np.hypot(rotation[0, 0], rotation[1, 0])))
    if np.hypot(rotation[0, 0], rotation[1, 0]) < 1e-12:  # gimbal lock: keep roll at zero
        return np.array([0.0, pitch, float(np.arctan2(-rotation[0, 1], rotation[1, 1]))])
    roll = float(np.arctan2(rotation[2, 1], rotation[2, 2]))
    yaw = float(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return np.array([roll, pitch, yaw])


def _skew(vector: NDArray[np.float64]) -> NDArray[np.float64]:
    x, y, z = (float(value) for value in vector)
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def axis_angle_to_matrix(rotation_vector: NDArray[np.float64]) -> NDArray[np.float64]:
    """(3, 3) rotation of the rotation vector (3,) ``angle * axis`` (Rodrigues' formula)."""
    angle = float(np.linalg.norm(rotation_vector))
    skew = _skew(rotation_vector)
    if angle < _SMALL_ANGLE_RAD:
        return np.eye(3) + skew
    return np.asarray(np.eye(3) + np.sin(angle) / angle * skew
                      + (1.0 - np.cos(angle)) / angle ** 2 * skew @ skew, dtype=np.float64)


def rotation_angle(rotation: NDArray[np.float64]) -> float:
    """Angle in [0, pi] of the (3, 3) rotation ``rotation``, rad."""
    cosine = (float(np.trace(rotation)) - 1.0) / 2.0
    sine = float(np.linalg.norm(rotation - rotation.T)) / (2.0 * np.sqrt(2.0))
    return float(np.arctan2(sine, np.clip(cosine, -1.0, 1.0)))


def matrix_to_axis_angle(rotation: NDArray[np.float64]) -> NDArray[np.float64]:
    """(3,) rotation vector of the (3, 3) rotation ``rotation``, angle in [0, pi]."""
    angle = rotation_angle(rotation)
    antisymmetric = np.array([rotation[2, 1] - rotation[1, 2], rotation[0, 2] - rotation[2, 0],
                              rotation[1, 0] - rotation[0, 1]])
    if angle < _SMALL_ANGLE_RAD:
        return antisymmetric / 2.0
    if angle < np.pi - 1e-6:
        return np.asarray(angle / (2.0 * np.sin(angle)) * antisymmetric, dtype=np.float64)
    # Near pi the antisymmetric part vanishes: read the axis off R + I = 2 * axis axis^T.
    symmetric = (rotation + np.eye(3)) / 2.0
    column = int(np.argmax(np.diag(symmetric)))
    axis = symmetric[:, column] / np.sqrt(symmetric[column, column])
    if float(axis @ antisymmetric) < 0.0:
        axis = -axis
    return np.asarray(angle * axis, dtype=np.float64)


def matrix_to_quaternion(rotation: NDArray[np.float64]) -> NDArray[np.float64]:
    """(4,) unit quaternion (w, x, y, z), w >= 0, of the (3, 3) rotation ``rotation``."""
    rotation_vector = matrix_to_axis_angle(rotation)
    angle = float(np.linalg.norm(rotation_vector))
    if angle < _SMALL_ANGLE_RAD:
        return np.array([1.0, *(rotation_vector / 2.0)])
    return np.array([np.cos(angle / 2.0), *(np.sin(angle / 2.0) / angle * rotation_vector)])


def rotation_6d_to_matrix(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """(3, 3) rotation from 6D ``values`` (first column, second column), Gram-Schmidt.

    Raises:
        PolicyOutputError: the two 3-vectors are (nearly) parallel or zero.
    """
    first, second = np.asarray(values[:3], dtype=np.float64), np.asarray(values[3:6],
                                                                         dtype=np.float64)
    norm = float(np.linalg.norm(first))
    second = second - (first @ second) / max(norm ** 2, 1e-300) * first
    second_norm = float(np.linalg.norm(second))
    if norm < 1e-9 or second_norm < 1e-9:
        raise PolicyOutputError(
            f'6D rotation {np.asarray(values)!r}: the two columns are zero or parallel, '
            'expected two independent 3-vectors')
    x_axis, y_axis = first / norm, second / second_norm
    return np.column_stack([x_axis, y_axis, np.cross(x_axis, y_axis)])


def matrix_to_rotation_6d(rotation: NDArray[np.float64]) -> NDArray[np.float64]:
    """(6,) first and second column of the (3, 3) rotation ``rotation``."""
    return np.concatenate([rotation[:, 0], rotation[:, 1]])


def vector_to_matrix(representation: RotationRepresentation,
                     values: NDArray[np.float64]) -> NDArray[np.float64]:
    """(3, 3) rotation encoded by ``values`` (``representation.width``,); NONE gives identity."""
    if representation is RotationRepresentation.EULER:
        return rpy_to_matrix(values)
    if representation is RotationRepresentation.AXIS_ANGLE:
        return axis_angle_to_matrix(values)
    if representation is RotationRepresentation.ROTATION_6D:
        return rotation_6d_to_matrix(values)
    return np.eye(3)


def matrix_to_vector(representation: RotationRepresentation,
                     rotation: NDArray[np.float64]) -> NDArray[np.float64]:
    """``rotation`` (3, 3) as a (``representation.width``,) vector; NONE gives (0,)."""
    if representation is RotationRepresentation.EULER:
        return matrix_to_rpy(rotation)
    if representation is RotationRepresentation.AXIS_ANGLE:
        return matrix_to_axis_angle(rotation)
    if representation is RotationRepresentation.ROTATION_6D:
        return matrix_to_rotation_6d(rotation)
    return np.zeros(0)

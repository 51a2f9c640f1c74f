# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Rotation encodings: each round-trips, and each means what its docstring says."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
from numpy.testing import assert_allclose
from numpy.typing import NDArray
import pytest

from vla_ros.core.errors import PolicyOutputError
from vla_ros.core.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rpy,
    matrix_to_vector,
    rotation_6d_to_matrix,
    rotation_angle,
    RotationRepresentation,
    rpy_to_matrix,
    vector_to_matrix,
)

UNIT = st.floats(-1.0, 1.0)
rotation_vectors = st.tuples(UNIT, UNIT, UNIT).map(np.array).filter(
    lambda vector: 1e-3 < np.linalg.norm(vector) <= 1.0).flatmap(
        lambda axis: st.floats(0.0, np.pi).map(lambda angle: angle * axis / np.linalg.norm(axis)))


def about(axis: int, angle_rad: float) -> NDArray[np.float64]:
    """Rotation about the x (0), y (1) or z (2) axis, written out."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    i, j = [k for k in range(3) if k != axis]
    rotation = np.eye(3)
    rotation[i, i], rotation[i, j], rotation[j, i], rotation[j, j] = c, -s, s, c
    if axis == 1:
        rotation[i, j], rotation[j, i] = s, -s
    return rotation


def test_rpy_is_urdf_fixed_axis_roll_then_pitch_then_yaw() -> None:
    roll, pitch, yaw = 0.3, -0.7, 2.1
    expected = about(2, yaw) @ about(1, pitch) @ about(0, roll)

    assert_allclose(rpy_to_matrix(np.array([roll, pitch, yaw])), expected, atol=1e-12)
    assert_allclose(about(1, 0.5) @ np.array([1.0, 0.0, 0.0]), [np.cos(0.5), 0, -np.sin(0.5)])


@given(rotation_vectors)
@settings(max_examples=200, deadline=None)
def test_every_representation_round_trips(rotation_vector: NDArray[np.float64]) -> None:
    rotation = axis_angle_to_matrix(rotation_vector)

    assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    for representation in (RotationRepresentation.EULER, RotationRepresentation.AXIS_ANGLE,
                           RotationRepresentation.ROTATION_6D):
        values = matrix_to_vector(representation, rotation)
        assert values.shape == (representation.width,)
        assert_allclose(vector_to_matrix(representation, values), rotation, atol=1e-9)
    assert rotation_angle(rotation) == pytest.approx(np.linalg.norm(rotation_vector), abs=1e-7)


@pytest.mark.parametrize('angle_rad', [0.0, 1e-12, 1e-5, np.pi - 1e-7, np.pi],
                         ids=['zero', 'tiny', 'small', 'near_pi', 'pi'])
def test_axis_angle_is_exact_at_the_ends_of_its_range(angle_rad: float) -> None:
    axis = np.array([2.0, -1.0, 2.0]) / 3.0

    recovered = matrix_to_axis_angle(axis_angle_to_matrix(angle_rad * axis))

    if angle_rad > 1e-12:
        assert_allclose(recovered / np.linalg.norm(recovered), axis, atol=1e-6)
    assert np.linalg.norm(recovered) == pytest.approx(angle_rad, abs=1e-9)


def test_rpy_at_gimbal_lock_keeps_the_rotation() -> None:
    rotation = rpy_to_matrix(np.array([0.4, np.pi / 2, -0.3]))

    rpy = matrix_to_rpy(rotation)

    assert rpy[0] == 0.0
    assert_allclose(rpy_to_matrix(rpy), rotation, atol=1e-9)


def test_6d_orthonormalises_any_two_independent_columns() -> None:
    rotation = rotation_6d_to_matrix(np.array([2.0, 0.0, 0.0, 1.0, 3.0, 0.0]))

    assert_allclose(rotation, np.eye(3), atol=1e-12)
    with pytest.raises(PolicyOutputError, match='zero or parallel'):
        rotation_6d_to_matrix(np.array([1.0, 1.0, 0.0, 2.0, 2.0, 0.0]))


def test_quaternion_is_w_first_with_non_negative_w() -> None:
    quaternion = matrix_to_quaternion(about(2, np.pi / 2))

    assert_allclose(quaternion, [np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5)], atol=1e-12)
    assert_allclose(matrix_to_quaternion(np.eye(3)), [1.0, 0.0, 0.0, 0.0])


def test_none_representation_is_empty_and_identity() -> None:
    assert RotationRepresentation.NONE.width == 0
    assert matrix_to_vector(RotationRepresentation.NONE, about(0, 1.0)).shape == (0,)
    assert_allclose(vector_to_matrix(RotationRepresentation.NONE, np.zeros(0)), np.eye(3))

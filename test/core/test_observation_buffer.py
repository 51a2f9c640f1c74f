# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The observation buffer: a snapshot only from complete, fresh, finite inputs, joints in order.

Ages are judged on an injected clock: ``ManualClock`` is a clock source whose time moves only
when the test advances it, so "stale" is decided by the test, not by the machine's speed.
"""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_array_equal
import pytest

from vla_ros.core.config import CameraConfig, CameraCrop
from vla_ros.core.errors import InputError
from vla_ros.core.observation_buffer import JointBounds, ObservationBuffer

CAMERAS = (CameraConfig(name='front', topic='camera/front/image_raw', width=4, height=3),
           CameraConfig(name='wrist', topic='camera/wrist/image_raw', width=2, height=2))
JOINTS = ('joint1', 'joint2', 'gripper_joint')
POSITIONS = (0.1, -0.2, 0.03)
STALE_AFTER_S = 1.0


class ManualClock:
    """Seconds on a clock that only the test moves."""

    def __init__(self, now_s: float = 1000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        """The current time, seconds."""
        return self.now_s

    def advance(self, seconds: float) -> None:
        """Move the time forward."""
        self.now_s += seconds


def _image(camera: CameraConfig, value: int) -> np.ndarray:
    return np.full((camera.height, camera.width, 3), value, dtype=np.uint8)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def buffer(clock: ManualClock) -> ObservationBuffer:
    return ObservationBuffer(CAMERAS, stale_after_s=STALE_AFTER_S, clock=clock)


def _fill(buffer: ObservationBuffer) -> None:
    for value, camera in enumerate(CAMERAS, start=1):
        buffer.put_image(camera.name, _image(camera, value))
    buffer.put_joint_state(JOINTS, POSITIONS)


def test_snapshot_holds_every_image_and_the_joints_in_the_requested_order(
        buffer: ObservationBuffer, clock: ManualClock) -> None:
    _fill(buffer)
    clock.advance(0.5)
    observation = buffer.snapshot(('gripper_joint', 'joint1'), 'touch the cube')
    assert observation.joint_names == ('gripper_joint', 'joint1')
    assert_array_equal(observation.joint_positions, [0.03, 0.1])
    assert observation.instruction == 'touch the cube'
    assert observation.stamp_s == clock.now_s
    assert sorted(observation.images) == ['front', 'wrist']
    assert_array_equal(observation.images['front'], _image(CAMERAS[0], 1))
    assert_array_equal(observation.images['wrist'], _image(CAMERAS[1], 2))


def test_newer_inputs_replace_older_ones_by_name(buffer: ObservationBuffer) -> None:
    _fill(buffer)
    buffer.put_joint_state(('joint2',), (0.7,))
    buffer.put_image('front', _image(CAMERAS[0], 9))
    observation = buffer.snapshot(JOINTS, 'go')
    assert_array_equal(observation.joint_positions, [0.1, 0.7, 0.03])
    assert_array_equal(observation.images['front'], _image(CAMERAS[0], 9))


def test_input_exactly_at_the_age_limit_is_still_fresh(
        buffer: ObservationBuffer, clock: ManualClock) -> None:
    _fill(buffer)
    clock.advance(STALE_AFTER_S)
    assert_array_equal(buffer.snapshot(JOINTS, 'go').joint_positions, POSITIONS)


def test_missing_camera_fails_the_snapshot(buffer: ObservationBuffer) -> None:
    buffer.put_image('front', _image(CAMERAS[0], 1))
    buffer.put_joint_state(JOINTS, POSITIONS)
    match = r"no image received yet from camera 'wrist' \(camera/wrist/image_raw\)"
    with pytest.raises(InputError, match=match):
        buffer.snapshot(JOINTS, 'go')


@pytest.mark.parametrize(('shape', 'match'), [
    ((3, 5, 3), r"camera 'front' \(camera/front/image_raw\): image is 5x3 \(WxH\), expected 4x3"),
    ((4, 4, 3), r'image is 4x4 \(WxH\), expected 4x3'),
], ids=['too-wide', 'too-tall'])
def test_image_of_the_wrong_size_is_refused_and_never_reaches_a_snapshot(
        buffer: ObservationBuffer, shape: tuple[int, int, int], match: str) -> None:
    _fill(buffer)
    with pytest.raises(InputError, match=match):
        buffer.put_image('front', np.zeros(shape, dtype=np.uint8))
    assert_array_equal(buffer.snapshot(JOINTS, 'go').images['front'], _image(CAMERAS[0], 1))


def test_a_cropped_camera_gives_the_policy_its_region_and_refuses_frames_of_the_crop_size(
        clock: ManualClock) -> None:
    # The camera publishes 6x5 frames; the policy sees columns 1..4 of rows 2..4.
    cropped = CameraConfig(name='front', topic='camera/front/image_raw', width=6, height=5,
                           crop=CameraCrop(x_offset=1, y_offset=2, width=3, height=2))
    buffer = ObservationBuffer((cropped, CAMERAS[1]), stale_after_s=STALE_AFTER_S, clock=clock)
    frame = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    buffer.put_image('front', frame)
    buffer.put_image('wrist', _image(CAMERAS[1], 2))
    buffer.put_joint_state(JOINTS, POSITIONS)

    images = buffer.snapshot(JOINTS, 'go').images
    assert_array_equal(images['front'], frame[2:4, 1:4])
    assert_array_equal(images['wrist'], _image(CAMERAS[1], 2))
    with pytest.raises(InputError, match=r'image is 3x2 \(WxH\), expected 6x5'):
        buffer.put_image('front', frame[2:4, 1:4].copy())  # (a frame already cropped)


def test_image_from_an_unconfigured_camera_is_refused(buffer: ObservationBuffer) -> None:
    with pytest.raises(InputError,
                       match=r"unknown camera 'side'; configured: \['front', 'wrist'\]"):
        buffer.put_image('side', _image(CAMERAS[0], 1))


@pytest.mark.parametrize(('refresh_joints', 'refresh_camera', 'match'), [
    (True, 'wrist', r"camera 'front' \(camera/front/image_raw\) is stale: last image 1\.50 s ago, "
                    r'limit 1\.00 s'),
    (True, 'front', r"camera 'wrist' .* is stale"),
    (False, None, r'camera .* is stale'),
], ids=['front-camera-stale', 'wrist-camera-stale', 'everything-stale'])
def test_stale_image_fails_the_snapshot(
        buffer: ObservationBuffer, clock: ManualClock, refresh_joints: bool,
        refresh_camera: str | None, match: str) -> None:
    _fill(buffer)
    clock.advance(1.5)
    if refresh_joints:
        buffer.put_joint_state(JOINTS, POSITIONS)
    if refresh_camera is not None:
        camera = next(camera for camera in CAMERAS if camera.name == refresh_camera)
        buffer.put_image(camera.name, _image(camera, 5))
    with pytest.raises(InputError, match=match):
        buffer.snapshot(JOINTS, 'go')


def test_stale_joint_state_fails_the_snapshot(
        buffer: ObservationBuffer, clock: ManualClock) -> None:
    _fill(buffer)
    clock.advance(1.25)
    for value, camera in enumerate(CAMERAS):
        buffer.put_image(camera.name, _image(camera, value))
    buffer.put_joint_state(('joint1', 'joint2'), (0.0, 0.0))  # gripper_joint not refreshed
    with pytest.raises(InputError, match=r'joint state is stale: 1\.25 s old, limit 1\.00 s'):
        buffer.snapshot(JOINTS, 'go')
    # The joints that were refreshed are fresh on their own.
    assert_array_equal(buffer.snapshot(('joint1', 'joint2'), 'go').joint_positions, [0.0, 0.0])


def test_missing_joint_fails_the_snapshot(buffer: ObservationBuffer) -> None:
    _fill(buffer)
    with pytest.raises(InputError, match=r"no joint state received yet for \['joint7'\]"):
        buffer.snapshot((*JOINTS, 'joint7'), 'go')


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), float('-inf')],
                         ids=['nan', 'inf', 'minus-inf'])
def test_non_finite_joint_state_is_refused_and_keeps_the_last_good_one(
        buffer: ObservationBuffer, bad: float) -> None:
    _fill(buffer)
    with pytest.raises(InputError, match=r"non-finite positions for \['joint2'\]"):
        buffer.put_joint_state(JOINTS, (0.5, bad, 0.0))
    assert_array_equal(buffer.snapshot(JOINTS, 'go').joint_positions, POSITIONS)


def test_joint_state_with_mismatched_lengths_is_refused(buffer: ObservationBuffer) -> None:
    with pytest.raises(InputError, match=r'joint state has 3 names and 2 positions'):
        buffer.put_joint_state(JOINTS, (0.1, 0.2))


def test_joint_positions_returns_the_latest_values_of_any_age(
        buffer: ObservationBuffer, clock: ManualClock) -> None:
    buffer.put_joint_state(JOINTS, POSITIONS)
    clock.advance(60.0)
    assert_array_equal(buffer.joint_positions(('joint2', 'joint1')), [-0.2, 0.1])
    with pytest.raises(InputError, match=r"no joint state received yet for \['joint9'\]"):
        buffer.joint_positions(('joint1', 'joint9'))


BOUNDS = {'joint1': JointBounds(-2.9, 2.9, 2.0), 'joint2': JointBounds(-1.8, 1.8, 2.0)}


@pytest.fixture
def checked(clock: ManualClock) -> ObservationBuffer:
    """A buffer that knows the URDF bounds of joint1 and joint2 (not of the gripper)."""
    buffer = ObservationBuffer(CAMERAS, stale_after_s=STALE_AFTER_S, clock=clock,
                               joint_bounds=BOUNDS)
    _fill(buffer)
    return buffer


@pytest.mark.parametrize(('names', 'positions', 'match'), [
    (('joint1', 'joint2', 'joint1'), (0.1, -0.2, 1.3),
     r"joint state names \['joint1'\] more than once"),
    (('joint1', 'joint2'), (10.0, -0.2),
     r"joint state 'joint1' = 10\.0 is outside its URDF limits \[-2\.900, 2\.900\]"),
    (('joint1', 'joint2'), (0.1, -1.9),
     r"'joint2' = -1\.9 is outside its URDF limits"),
    (('joint1', 'joint2'), (1.3, -0.2),
     r"joint state 'joint1' jumped from 0\.1000 to 1\.3000 in 0\.020 s, faster than its "
     r'velocity limit 2\.00 allows'),
], ids=['duplicate-name', 'far-outside-limits', 'just-outside-limits', 'jump'])
def test_a_joint_state_that_cannot_be_true_is_refused_whole_and_the_last_good_one_stays(
        checked: ObservationBuffer, clock: ManualClock, names: tuple[str, ...],
        positions: tuple[float, ...], match: str) -> None:
    clock.advance(0.02)
    with pytest.raises(InputError, match=match):
        checked.put_joint_state(names, positions)
    assert_array_equal(checked.joint_positions(JOINTS), POSITIONS)


def test_measured_positions_within_the_tolerance_of_a_limit_are_accepted(
        checked: ObservationBuffer, clock: ManualClock) -> None:
    clock.advance(10.0)  # long enough for any move
    checked.put_joint_state(('joint1', 'joint2'), (2.9 + 0.04, -1.8 - 0.04))
    assert_array_equal(checked.joint_positions(('joint1', 'joint2')), [2.94, -1.84])


def test_the_tolerance_past_a_limit_is_the_configured_one(clock: ManualClock) -> None:
    # A finger pressed on a table reads 0.085 rad past its limit (the G1 sim); 0.1 lets it
    # through and still refuses a gross lie.
    buffer = ObservationBuffer(CAMERAS, stale_after_s=STALE_AFTER_S, clock=clock,
                               joint_bounds=BOUNDS, position_tolerance=0.1)
    _fill(buffer)
    clock.advance(10.0)
    buffer.put_joint_state(('joint1',), (2.9 + 0.085,))
    assert_array_equal(buffer.joint_positions(('joint1',)), [2.985])
    with pytest.raises(InputError, match=r'by more than safety\.joint_state_tolerance 0\.1'):
        buffer.put_joint_state(('joint2',), (-1.8 - 0.11,))
    with pytest.raises(InputError, match='outside its URDF limits'):
        buffer.put_joint_state(('joint1',), (10.0,))


def test_the_default_tolerance_refuses_what_the_wider_one_accepts(
        checked: ObservationBuffer, clock: ManualClock) -> None:
    clock.advance(10.0)
    with pytest.raises(InputError, match='joint_state_tolerance 0.05'):
        checked.put_joint_state(('joint1',), (2.9 + 0.085,))


def test_a_move_the_joint_can_make_is_accepted_judged_by_the_message_stamps(
        checked: ObservationBuffer, clock: ManualClock) -> None:
    checked.put_joint_state(('joint1',), (0.1,), stamp_s=50.0)
    # Arrives at the same instant, but measured 0.5 s later: 0.9 rad at 2 rad/s is possible.
    checked.put_joint_state(('joint1',), (1.0,), stamp_s=50.5)
    # Measured 0.02 s after that: 1.0 rad is not.
    with pytest.raises(InputError, match=r"'joint1' jumped from 1\.0000 to 2\.0000 in 0\.020 s"):
        checked.put_joint_state(('joint1',), (2.0,), stamp_s=50.52)
    assert_array_equal(checked.joint_positions(('joint1',)), [1.0])


def test_after_a_refused_jump_a_position_becomes_acceptable_once_the_joint_could_be_there(
        checked: ObservationBuffer, clock: ManualClock) -> None:
    clock.advance(0.02)
    with pytest.raises(InputError, match='jumped'):
        checked.put_joint_state(('joint1',), (1.3,))
    clock.advance(0.5)  # 0.52 s after the last good one: 1.2 rad is within 1.5 x 2 rad/s
    checked.put_joint_state(('joint1',), (1.3,))
    assert_array_equal(checked.joint_positions(('joint1',)), [1.3])


def test_a_clock_that_goes_back_starts_the_jump_check_afresh(
        checked: ObservationBuffer, clock: ManualClock) -> None:
    clock.now_s -= 100.0  # a simulator reset rewinds its clock and teleports the arm
    checked.put_joint_state(('joint1',), (2.0,))
    assert_array_equal(checked.joint_positions(('joint1',)), [2.0])


def test_joint_state_age_is_the_oldest_arrival_of_the_joints_asked_for(
        checked: ObservationBuffer, clock: ManualClock) -> None:
    clock.advance(0.3)
    checked.put_joint_state(('joint1',), (0.2,))
    clock.advance(0.1)
    assert checked.joint_state_age(('joint1',)) == pytest.approx(0.1)
    assert checked.joint_state_age(('joint1', 'joint2')) == pytest.approx(0.4)
    assert checked.joint_state_age(('joint9',)) == float('inf')

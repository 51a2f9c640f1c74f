# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The start-up check that every configured joint shows up in the joint states in time.

Time comes from ``ManualClock``, moved only by the test.
"""

from __future__ import annotations

from vla_ros.core.joint_presence import JointPresence, JointPresenceCheck

REQUIRED = ('left_joint1', 'left_gripper_joint', 'right_joint1')


class ManualClock:
    """Seconds on a clock that only the test moves."""

    def __init__(self) -> None:
        self.now_s = 50.0

    def __call__(self) -> float:
        """The current time, seconds."""
        return self.now_s


def _check(clock: ManualClock) -> JointPresenceCheck:
    return JointPresenceCheck(REQUIRED, timeout_s=2.0, clock=clock, topic='/robot/joint_states')


def test_all_joints_in_one_message_complete_the_check():
    check = _check(ManualClock())

    assert check.observe(['right_joint1', 'left_gripper_joint', 'left_joint1', 'torso']) \
        is JointPresence.COMPLETE
    assert check.missing == ()


def test_joints_from_several_publishers_are_collected():
    clock = ManualClock()
    check = _check(clock)

    arm = check.observe(['left_joint1', 'right_joint1'])
    clock.now_s += 1.5
    gripper = check.observe(['left_gripper_joint'])

    assert (arm, gripper) == (JointPresence.WAITING, JointPresence.COMPLETE)


def test_missing_joint_after_the_deadline_is_reported_by_name():
    clock = ManualClock()
    check = _check(clock)
    check.observe(['left_joint1', 'right_joint1'])
    clock.now_s += 1.99

    before = check.observe(['left_joint1', 'right_joint1'])
    clock.now_s += 0.01
    after = check.observe(['left_joint1', 'right_joint1'])

    assert (before, after) == (JointPresence.WAITING, JointPresence.MISSING)
    assert check.missing == ('left_gripper_joint',)
    assert check.error_message() == (
        "configured joints ['left_gripper_joint'] are missing from /robot/joint_states after "
        "2.0 s; it carries ['left_joint1', 'right_joint1']")


def test_the_deadline_starts_with_the_first_message_not_at_construction():
    clock = ManualClock()
    check = _check(clock)
    clock.now_s += 60.0  # the robot's driver started late

    assert check.observe(['left_joint1']) is JointPresence.WAITING


def test_a_late_joint_clears_a_missing_verdict():
    clock = ManualClock()
    check = _check(clock)
    check.observe(['left_joint1', 'right_joint1'])
    clock.now_s += 5.0

    assert check.observe([]) is JointPresence.MISSING
    assert check.observe(['left_gripper_joint']) is JointPresence.COMPLETE

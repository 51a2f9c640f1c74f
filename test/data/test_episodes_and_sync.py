# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Episodes from markers and action goals; fixed-rate frames from a recording of known values."""

from __future__ import annotations

from action_msgs.msg import GoalInfo, GoalStatus, GoalStatusArray
import numpy as np
import pytest
from rclpy.serialization import serialize_message
from sensor_msgs.msg import JointState
from std_msgs.msg import String
import synthetic_bags as synthetic
from synthetic_bags import stamp
from unique_identifier_msgs.msg import UUID

from vla_ros.core.errors import DataError
from vla_ros.data import BagReader, BagWriter, MessageTypes
from vla_ros.data.episodes import (
    encode_marker,
    EpisodeOutcome,
    EpisodeSource,
    EpisodeSpan,
    split_episodes,
)
from vla_ros.data.sync import ActionSource, iter_frames, sample_episodes, StreamLayout
from vla_ros.msg import PolicyStatus


@pytest.fixture(scope='module')
def types():
    return MessageTypes().typestore


@pytest.fixture(scope='module')
def recording(tmp_path_factory):
    return synthetic.write_bag(tmp_path_factory.mktemp('sync') / 'bag')


def _write(path, entries):
    with BagWriter(path, message_types=MessageTypes()) as writer:
        for topic, type_name, stamp_ns, message in entries:
            writer.write(topic, type_name, stamp_ns, serialize_message(message))
    return path


def _status_array(*goals: tuple[int, int]) -> GoalStatusArray:
    """Statuses of (goal number, status) pairs; goal numbers become their UUIDs."""
    return GoalStatusArray(status_list=[
        GoalStatus(goal_info=GoalInfo(goal_id=UUID(uuid=[number] * 16)), status=status)
        for number, status in goals])


def test_markers_give_episodes_with_instruction_and_outcome(tmp_path, types):
    bag = _write(tmp_path / 'markers', [
        ('/vla/episode/start', 'std_msgs/msg/String', stamp(100), String(data='pick')),
        ('/vla/episode/stop', 'std_msgs/msg/String', stamp(900), String(data='succeeded')),
        ('/vla/episode/stop', 'std_msgs/msg/String', stamp(950), String(data='failed')),
        ('/robot1/vla/episode/start', 'std_msgs/msg/String', stamp(1000), String(data='place')),
        ('/vla/episode/start', 'std_msgs/msg/String', stamp(2000), String(data='wave')),
        ('/chatter', 'std_msgs/msg/String', stamp(3000), String(data='the end'))])

    with BagReader(bag) as reader:
        spans = split_episodes(reader, types)

    assert spans == (
        EpisodeSpan(stamp(100), stamp(900), 'pick', EpisodeOutcome.SUCCEEDED,
                    EpisodeSource.MARKERS),
        EpisodeSpan(stamp(1000), stamp(2000) - 1, 'place', EpisodeOutcome.UNKNOWN,
                    EpisodeSource.MARKERS),
        EpisodeSpan(stamp(2000), stamp(3000), 'wave', EpisodeOutcome.UNKNOWN,
                    EpisodeSource.MARKERS))


def test_marker_bytes_are_a_std_msgs_string():
    assert encode_marker('hi') == serialize_message(String(data='hi'))


def test_goal_statuses_give_one_episode_per_goal_with_the_policy_instruction(tmp_path, types):
    status = '/vla/execute/_action/status'
    array = 'action_msgs/msg/GoalStatusArray'
    bag = _write(tmp_path / 'goals', [
        ('/vla/status', 'vla_ros/msg/PolicyStatus', stamp(0), PolicyStatus(instruction='')),
        (status, array, stamp(100), _status_array((1, GoalStatus.STATUS_ACCEPTED))),
        (status, array, stamp(110), _status_array((1, GoalStatus.STATUS_EXECUTING))),
        ('/vla/status', 'vla_ros/msg/PolicyStatus', stamp(120),
         PolicyStatus(state=1, instruction='touch the red cube')),
        (status, array, stamp(900), _status_array((1, GoalStatus.STATUS_SUCCEEDED))),
        (status, array, stamp(1000), _status_array((1, GoalStatus.STATUS_SUCCEEDED),
                                                   (2, GoalStatus.STATUS_EXECUTING))),
        ('/vla/status', 'vla_ros/msg/PolicyStatus', stamp(1010),
         PolicyStatus(state=1, instruction='touch the blue cube')),
        (status, array, stamp(1500), _status_array((1, GoalStatus.STATUS_SUCCEEDED),
                                                   (2, GoalStatus.STATUS_ABORTED),
                                                   (3, GoalStatus.STATUS_EXECUTING))),
        (status, array, stamp(1800), _status_array((3, GoalStatus.STATUS_CANCELED))),
        (status, array, stamp(1900), _status_array((4, GoalStatus.STATUS_EXECUTING))),
        ('/joint_states', 'sensor_msgs/msg/JointState', stamp(2500), JointState())])

    with BagReader(bag) as reader:
        spans = split_episodes(reader, types)
        whole = split_episodes(reader, types, source=EpisodeSource.WHOLE_BAG)

    goals = EpisodeSource.GOALS
    assert spans == (
        EpisodeSpan(stamp(100), stamp(900), 'touch the red cube', EpisodeOutcome.SUCCEEDED,
                    goals),
        EpisodeSpan(stamp(1000), stamp(1500) - 1, 'touch the blue cube', EpisodeOutcome.FAILED,
                    goals),
        EpisodeSpan(stamp(1500), stamp(1800), '', EpisodeOutcome.UNKNOWN, goals),
        EpisodeSpan(stamp(1900), stamp(2500), '', EpisodeOutcome.UNKNOWN, goals))
    assert whole == (EpisodeSpan(stamp(0), stamp(2500), 'touch the red cube',
                                 EpisodeOutcome.UNKNOWN, EpisodeSource.WHOLE_BAG),)


def test_missing_episode_records_and_bad_markers_are_data_errors(tmp_path, types):
    bag = _write(tmp_path / 'bad', [
        ('/vla/episode/start', 'std_msgs/msg/String', stamp(0), String(data='pick')),
        ('/vla/episode/stop', 'std_msgs/msg/String', stamp(10), String(data='great'))])

    with BagReader(bag) as reader:
        with pytest.raises(DataError, match="outcome 'great', expected one of succeeded"):
            split_episodes(reader, types)
        with pytest.raises(DataError, match='no episodes marked by goals'):
            split_episodes(reader, types, source=EpisodeSource.GOALS)


def test_frames_hold_the_newest_inputs_and_the_target_due_one_frame_later(recording, types):
    with BagReader(recording) as reader:
        layout = StreamLayout.detect(reader.info)
        spans = split_episodes(reader, types)
        timelines = sample_episodes(reader, types, spans, layout=layout, fps=10,
                                    action_source=ActionSource.COMMANDS)
        frames = list(iter_frames(reader, types, timelines, layout))

    assert layout.camera_names == ('front', 'wrist')
    assert layout.command_topics == ('/arm_controller/joint_trajectory',
                                     '/gripper_controller/joint_trajectory')
    assert [(t.episode.instruction, t.episode.outcome, t.length) for t in timelines] == [
        ('pick up the cube', EpisodeOutcome.SUCCEEDED, 13),
        ('put it down', EpisodeOutcome.FAILED, 16)]
    for timeline, (_, start_ms, _, _) in zip(timelines, synthetic.EPISODES):
        frame_ms = start_ms + 100 * np.arange(timeline.length)
        assert timeline.joint_names == ('joint1', 'joint2', 'gripper_joint')
        np.testing.assert_array_equal(timeline.stamps_ns, [stamp(ms) for ms in frame_ms])
        np.testing.assert_allclose(timeline.joint_positions,
                                   [synthetic.joint_state(ms) for ms in frame_ms])
        np.testing.assert_allclose(timeline.actions, [
            (*synthetic.arm_target(ms + 100), synthetic.gripper_target(ms + 100))
            for ms in frame_ms], atol=1e-9)
    assert [(f.episode_index, f.frame_index) for f in frames] == [
        (e, k) for e, t in enumerate(timelines) for k in range(t.length)]
    frame_ms = [synthetic.EPISODES[f.episode_index][1] + 100 * f.frame_index for f in frames]
    for frame, ms in zip(frames, frame_ms):
        np.testing.assert_array_equal(frame.images['front'],
                                      synthetic.front_pixels(int((ms - 1) // 50)))
        np.testing.assert_array_equal(frame.images['wrist'],
                                      synthetic.wrist_pixels(int((ms - 1) // 100)))


def test_next_state_actions_and_a_late_stream_shift_the_first_frame(tmp_path, types):
    bag = synthetic.write_bag(tmp_path / 'whole', markers=False)

    with BagReader(bag) as reader:
        layout = StreamLayout.detect(reader.info, cameras={'left': 'camera/wrist/image_raw'})
        spans = split_episodes(reader, types)
        (timeline,) = sample_episodes(reader, types, spans, layout=layout, fps=4,
                                      action_source=ActionSource.NEXT_STATE,
                                      joint_names=('gripper_joint', 'joint1'))

    first_ms = 2.0  # the first gripper state arrives 2 ms after the start of the bag
    frame_ms = first_ms + 250 * np.arange(timeline.length)
    assert timeline.episode.source is EpisodeSource.WHOLE_BAG
    assert timeline.length == 16
    np.testing.assert_allclose(timeline.joint_positions, [
        (synthetic.joint_state(ms)[2], synthetic.joint_state(ms)[0]) for ms in frame_ms])
    np.testing.assert_allclose(timeline.actions, [
        (synthetic.joint_state(ms + 250)[2], synthetic.joint_state(ms + 250)[0])
        for ms in frame_ms])


def test_missing_streams_are_named(tmp_path, types):
    bag = _write(tmp_path / 'joints_only', [
        ('/joint_states', 'sensor_msgs/msg/JointState', stamp(0),
         JointState(name=['joint1'], position=[0.0]))])

    with BagReader(bag) as reader:
        with pytest.raises(DataError, match='cameras .*need at least one'):
            StreamLayout.detect(reader.info)
    with BagReader(synthetic.write_bag(tmp_path / 'full')) as reader:
        layout = StreamLayout.detect(reader.info)
        spans = split_episodes(reader, types)
        with pytest.raises(DataError, match=r"joints \['joint9'\]: \['joint9'\] never"):
            sample_episodes(reader, types, spans, layout=layout, fps=10,
                            action_source=ActionSource.COMMANDS, joint_names=['joint9'])

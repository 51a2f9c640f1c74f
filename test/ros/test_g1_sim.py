# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The G1 humanoid over real DDS: a policy drives the upper body, the held legs get nothing.

The test config lists the joints in another order than the scene file (which the sim node
publishes joint states in: legs first) and the policy's checkpoint in a third, so every
hand-over between them must match joints by name. ``legs_controller`` is a held controller:
the policy node never publishes to it, and the legs stay where they are. The scripted hand-reach
expert, run by ``vla_ros.ros.evaluation`` through the sim node's trajectory topics, touches the
named cube with the named hand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from node_test_constants import fresh_domain_id, WAIT_S
import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image, JointState
from trajectory_msgs.msg import JointTrajectory
import yaml

from vla_ros.core.config import load_config
from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.flow.checkpoint import create_random_checkpoint
from vla_ros.ros.clients import execute_instruction
from vla_ros.ros.convert import image_from_msg, trajectory_to_msg
from vla_ros.ros.evaluation import evaluate
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS
from vla_ros.sim.humanoid_tasks import Hand, sample_hand_reach_episodes

LEGS = tuple(f'{side}_{joint}_joint' for side in ('left', 'right') for joint in (
    'hip_pitch', 'hip_roll', 'hip_yaw', 'knee', 'ankle_pitch', 'ankle_roll'))
WAIST = ('waist_yaw_joint', 'waist_roll_joint', 'waist_pitch_joint')
ARM = ('shoulder_pitch', 'shoulder_roll', 'shoulder_yaw', 'elbow', 'wrist_roll', 'wrist_pitch',
       'wrist_yaw')
HAND = ('thumb_0', 'thumb_1', 'thumb_2', 'middle_0', 'middle_1', 'index_0', 'index_1')
#: The scene's joint order (the URDF's): legs, waist, left arm and hand, right arm and hand.
SCENE_JOINTS = (*LEGS, *WAIST, *(f'left_{j}_joint' for j in ARM),
                *(f'left_hand_{j}_joint' for j in HAND), *(f'right_{j}_joint' for j in ARM),
                *(f'right_hand_{j}_joint' for j in HAND))
_ARM_HOME = (0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0)
#: The home keyframe of urdf/g1/g1_scene.xml.
HOME = dict(zip(SCENE_JOINTS, (0.0,) * 15 + _ARM_HOME + (0, 0, 0.3, -0.3, -0.3, -0.3, -0.3)
                + _ARM_HOME + (0, 0, -0.3, 0.3, 0.3, 0.3, 0.3)))
#: The config's order: the scene's reversed (right hand first, legs last).
CONFIG_JOINTS = SCENE_JOINTS[::-1]
#: The checkpoint's order: the commanded joints, every other one first.
COMMANDED = tuple(joint for joint in SCENE_JOINTS if joint not in LEGS)
POLICY_JOINTS = COMMANDED[::2] + COMMANDED[1::2]
CAMERAS = ('head', 'left_wrist', 'right_wrist')
IMAGE_PX = 32  # small images: software rendering is slow
#: How far the legs may move while the upper body runs, rad.
LEGS_TOLERANCE_RAD = 1e-3


@pytest.fixture(scope='module')
def g1_config(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """config/g1.yaml reordered, with small cameras and a random flow checkpoint."""
    spec = PolicySpec(joint_names=POLICY_JOINTS, camera_names=CAMERAS, image_height=IMAGE_PX,
                      image_width=IMAGE_PX, chunk_length=10, dt_s=0.1)
    checkpoint = create_random_checkpoint(
        tmp_path_factory.mktemp('g1_ckpt') / 'flow', spec, seed=0,
        home_positions=[HOME[joint] for joint in POLICY_JOINTS],
        motion_std=[0.05] * len(POLICY_JOINTS))
    raw: dict[str, Any] = yaml.safe_load((repo_root / 'config' / 'g1.yaml').read_text())
    raw['embodiment']['urdf'] = str(repo_root / 'urdf' / 'g1.urdf')
    raw['embodiment']['joints'] = list(CONFIG_JOINTS)
    for camera in raw['embodiment']['cameras'].values():
        camera.update(width=IMAGE_PX, height=IMAGE_PX)
    raw['sim']['mjcf'] = str(repo_root / 'urdf' / 'g1' / 'g1_scene.xml')
    raw['policy'].update(family='flow', checkpoint=str(checkpoint))
    raw['execution']['horizon'] = 3
    path = tmp_path_factory.mktemp('g1_config') / 'g1.yaml'
    path.write_text(yaml.safe_dump(raw))
    return path


def start(graph: InProcessGraph, config: Path, *, policy: bool) -> Node:
    """The sim node (and the policy node) on ``config``; returns a probe node."""
    parameters = [Parameter('config_file', value=str(config))]
    graph.add(SimNode, parameter_overrides=parameters)
    if policy:
        graph.add(PolicyNode, parameter_overrides=[*parameters,
                                                   Parameter('use_sim_time', value=True)])
    return graph.add(Node, node_name='probe')


def positions_of(msg: JointState) -> dict[str, float]:
    return dict(zip(msg.name, msg.position))


def largest_leg_motion(msgs: list[JointState], reference: dict[str, float]) -> float:
    return max(abs(positions_of(msg)[leg] - reference[leg]) for msg in msgs for leg in LEGS)


def test_sim_publishes_all_43_joints_in_scene_order_and_every_camera(
        graph: InProcessGraph, g1_config: Path, collect: Callable[[], Any]) -> None:
    probe = start(graph, g1_config, policy=False)
    joints = collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    images = {camera: collect() for camera in CAMERAS}
    for camera, collector in images.items():
        probe.create_subscription(Image, f'camera/{camera}/image_raw', collector, SENSOR_QOS)

    state = joints.wait_for(lambda msgs: len(msgs) > 0)[0]
    frames = {camera: image_from_msg(collector.wait_for(lambda msgs: len(msgs) > 0)[0],
                                     where=camera) for camera, collector in images.items()}

    assert tuple(state.name) == SCENE_JOINTS != CONFIG_JOINTS
    assert len(state.name) == 43
    assert np.allclose([HOME[name] for name in state.name], state.position, atol=0.01)
    for camera, frame in frames.items():
        assert frame.shape == (IMAGE_PX, IMAGE_PX, 3) and frame.std() > 5.0, camera
    assert len({frame.tobytes() for frame in frames.values()}) == 3


def test_a_shuffled_arm_trajectory_moves_that_arm_and_the_rest_holds(
        graph: InProcessGraph, g1_config: Path, collect: Callable[[], Any]) -> None:
    probe = start(graph, g1_config, policy=False)
    joints = collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    right_arm = probe.create_publisher(JointTrajectory, 'right_arm_controller/joint_trajectory',
                                       COMMAND_QOS)
    before = positions_of(joints.wait_for(lambda msgs: len(msgs) > 0)[-1])
    shuffled = tuple(f'right_{joint}_joint' for joint in (
        'wrist_yaw', 'elbow', 'shoulder_pitch', 'wrist_roll', 'shoulder_yaw', 'wrist_pitch',
        'shoulder_roll'))
    goal = {name: HOME[name] + offset for name, offset in zip(
        shuffled, (0.4, 0.3, -0.3, 0.25, 0.2, -0.35, -0.2))}

    right_arm.publish(trajectory_to_msg(JointTrajectoryCommand(
        shuffled, np.array([1.0]), np.array([[goal[name] for name in shuffled]]))))

    def reached(msgs: list[JointState]) -> bool:
        latest = positions_of(msgs[-1])
        return all(abs(latest[name] - value) < 0.03 for name, value in goal.items())
    msgs = joints.wait_for(reached)
    final = positions_of(msgs[-1])
    held = [name for name in SCENE_JOINTS if name not in goal]
    assert np.allclose([final[name] for name in held], [HOME[name] for name in held], atol=0.02)
    assert largest_leg_motion(msgs, before) < LEGS_TOLERANCE_RAD


def test_a_policy_goal_moves_every_commanded_controller_and_never_the_legs(
        graph: InProcessGraph, g1_config: Path, collect: Callable[[], Any]) -> None:
    config = load_config(g1_config)
    assert list(config.embodiment.held_controllers) == ['legs_controller']
    probe = start(graph, g1_config, policy=True)
    joints = collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    trajectories = {controller: collect() for controller in
                    (*config.embodiment.controllers, 'legs_controller')}
    for controller, collector in trajectories.items():
        probe.create_subscription(JointTrajectory, f'{controller}/joint_trajectory', collector,
                                  COMMAND_QOS)
    before = positions_of(joints.wait_for(lambda msgs: len(msgs) > 0)[-1])

    accepted, result = execute_instruction(
        probe, 'touch the red cube with your right hand', duration_s=3.0,
        result_timeout_s=10 * WAIT_S)

    assert accepted and result is not None and result.success, result
    final = positions_of(joints.messages[-1])
    for controller, controller_joints in config.embodiment.controllers.items():
        messages = trajectories[controller].wait_for(lambda msgs: len(msgs) > 0)
        for msg in messages:
            assert sorted(msg.joint_names) == sorted(controller_joints), controller
            for point in msg.points:  # matched by name: every target lies near its own home
                for name, position in zip(msg.joint_names, point.positions):
                    assert abs(position - HOME[name]) < 0.4, (controller, name, position)
        excursion = max(abs(final[name] - before[name]) for name in controller_joints)
        assert excursion > 0.005, (controller, excursion)
    assert trajectories['legs_controller'].messages == []
    assert largest_leg_motion(joints.messages, before) < LEGS_TOLERANCE_RAD


def test_the_hand_reach_expert_touches_the_cube_through_ros(g1_config: Path) -> None:
    episodes = sample_hand_reach_episodes(4, seed=1000)
    assert {episode.hand for episode in episodes} == set(Hand)

    run = evaluate(config_path=g1_config, episodes=list(episodes), timeout_s=8.0, policy=None,
                   domain_id=fresh_domain_id())

    assert [record.episode for record in run.records] == episodes
    for record in run.records:
        assert record.success and record.failure_reason is None, record
        assert record.outcome == 'expert'
        assert record.time_to_success_s is not None and record.time_to_success_s < 8.0
    assert run.callback_errors == ()

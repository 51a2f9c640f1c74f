# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ALOHA rig over real DDS: the generic sim node runs it, a policy drives all four controllers.

The test config lists the joints in another order than the scene file (which the sim node
publishes joint states in) and the policy's checkpoint in a third, so every hand-over between
them must match joints by name. The bimanual tasks' scripted expert runs through the
evaluation harness (sim node, trajectory topics, ``sim/reset``) on a few seeds.
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
from vla_ros.sim.bimanual_tasks import BimanualTaskKind, sample_bimanual_episodes, Side

#: The scene's joint order (gym-aloha's), and the home pose (grippers: finger opening, m).
SCENE_JOINTS = tuple(f'{side}_{joint}' for side in ('left', 'right') for joint in (
    'waist', 'shoulder', 'elbow', 'forearm_roll', 'wrist_angle', 'wrist_rotate', 'gripper'))
HOME = dict(zip(SCENE_JOINTS, [0.0, -0.96, 1.16, 0.0, -0.3, 0.0, 0.02239] * 2))
#: The config's order: the right arm first, grippers last.
CONFIG_JOINTS = (*SCENE_JOINTS[7:13], *SCENE_JOINTS[:6], 'right_gripper', 'left_gripper')
#: The checkpoint's order: the scene's, reversed.
POLICY_JOINTS = SCENE_JOINTS[::-1]
CAMERAS = ('cam_high', 'cam_low', 'cam_left_wrist', 'cam_right_wrist')
IMAGE_PX = 32  # small images: software rendering of four cameras is slow
#: Normalised gripper value the random policy acts around: half open (the fingers open).
GRIPPER_HOME = 0.5


@pytest.fixture(scope='module')
def aloha_config(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """config/aloha.yaml reordered, with small cameras and a random flow checkpoint."""
    spec = PolicySpec(joint_names=POLICY_JOINTS, camera_names=CAMERAS, image_height=IMAGE_PX,
                      image_width=IMAGE_PX, chunk_length=10, dt_s=0.1)
    home = [GRIPPER_HOME if joint.endswith('gripper') else HOME[joint]
            for joint in POLICY_JOINTS]
    checkpoint = create_random_checkpoint(
        tmp_path_factory.mktemp('aloha_ckpt') / 'flow', spec, seed=0, home_positions=home,
        motion_std=[0.05] * len(POLICY_JOINTS))
    raw: dict[str, Any] = yaml.safe_load((repo_root / 'config' / 'aloha.yaml').read_text())
    raw['embodiment']['urdf'] = str(repo_root / 'urdf' / 'aloha.urdf')
    raw['embodiment']['joints'] = list(CONFIG_JOINTS)
    for camera in raw['embodiment']['cameras'].values():
        camera.update(width=IMAGE_PX, height=IMAGE_PX)
    raw['sim']['mjcf'] = str(repo_root / 'urdf' / 'aloha' / 'aloha_scene.xml')
    raw['policy'].update(family='flow', checkpoint=str(checkpoint))
    raw['execution']['horizon'] = 3
    path = tmp_path_factory.mktemp('aloha_config') / 'aloha.yaml'
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


def latest_positions(msgs: list[JointState]) -> dict[str, float]:
    return dict(zip(msgs[-1].name, msgs[-1].position))


def test_sim_publishes_joint_states_in_scene_order_and_all_four_cameras(
        graph: InProcessGraph, aloha_config: Path, collect: Callable[[], Any]) -> None:
    probe = start(graph, aloha_config, policy=False)
    joints = collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    images = {camera: collect() for camera in CAMERAS}
    for camera, collector in images.items():
        probe.create_subscription(Image, f'camera/{camera}/image_raw', collector, SENSOR_QOS)

    state = joints.wait_for(lambda msgs: len(msgs) > 0)[0]
    frames = {camera: image_from_msg(collector.wait_for(lambda msgs: len(msgs) > 0)[0],
                                     where=camera) for camera, collector in images.items()}

    assert tuple(state.name) == SCENE_JOINTS != CONFIG_JOINTS
    assert np.allclose([HOME[name] for name in state.name], state.position, atol=0.01)
    for camera, frame in frames.items():
        assert frame.shape == (IMAGE_PX, IMAGE_PX, 3) and frame.std() > 5.0, camera
    assert len({frame.tobytes() for frame in frames.values()}) == 4  # four different views


def test_a_shuffled_arm_trajectory_moves_that_arm_and_the_rest_holds(
        graph: InProcessGraph, aloha_config: Path, collect: Callable[[], Any]) -> None:
    probe = start(graph, aloha_config, policy=False)
    joints = collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    right_arm = probe.create_publisher(JointTrajectory, 'right_arm_controller/joint_trajectory',
                                       COMMAND_QOS)
    joints.wait_for(lambda msgs: len(msgs) > 0)
    shuffled = ('right_wrist_rotate', 'right_elbow', 'right_waist', 'right_wrist_angle',
                'right_shoulder', 'right_forearm_roll')
    goal = {name: HOME[name] + offset for name, offset in zip(
        shuffled, (0.4, -0.3, 0.3, 0.25, 0.2, -0.35))}

    right_arm.publish(trajectory_to_msg(JointTrajectoryCommand(
        shuffled, np.array([1.0]), np.array([[goal[name] for name in shuffled]]))))

    def reached(msgs: list[JointState]) -> bool:
        latest = latest_positions(msgs)
        return all(abs(latest[name] - value) < 0.03 for name, value in goal.items())
    final = latest_positions(joints.wait_for(reached))
    held = [name for name in SCENE_JOINTS if name not in goal]
    assert np.allclose([final[name] for name in held], [HOME[name] for name in held], atol=0.02)


def test_a_policy_goal_moves_every_controller_with_only_its_own_joints(
        graph: InProcessGraph, aloha_config: Path, collect: Callable[[], Any]) -> None:
    config = load_config(aloha_config)
    probe = start(graph, aloha_config, policy=True)
    joints = collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    trajectories = {controller: collect() for controller in config.embodiment.controllers}
    for controller, collector in trajectories.items():
        probe.create_subscription(JointTrajectory, f'{controller}/joint_trajectory', collector,
                                  COMMAND_QOS)
    joints.wait_for(lambda msgs: len(msgs) > 0)

    accepted, result = execute_instruction(probe, 'pick up the red cube', duration_s=3.0,
                                           result_timeout_s=10 * WAIT_S)

    assert accepted and result is not None and result.success, result
    final = latest_positions(joints.messages)
    for controller, controller_joints in config.embodiment.controllers.items():
        messages = trajectories[controller].wait_for(lambda msgs: len(msgs) > 0)
        for msg in messages:
            assert sorted(msg.joint_names) == sorted(controller_joints), controller
            for point in msg.points:  # matched by name: every target lies near its own home
                for name, position in zip(msg.joint_names, point.positions):
                    near = 0.02 if name.endswith('gripper') else 0.4
                    reference = 0.039 if name.endswith('gripper') else HOME[name]
                    assert abs(position - reference) < near, (controller, name, position)
        excursion = max(abs(final[name] - HOME[name]) for name in controller_joints)
        assert excursion > 0.005, (controller, excursion)


@pytest.mark.parametrize('task', list(BimanualTaskKind), ids=lambda task: task.value)
def test_the_scripted_expert_solves_the_bimanual_tasks_through_ros(
        aloha_config: Path, task: BimanualTaskKind) -> None:
    episodes = sample_bimanual_episodes(task, 2, seed=1002)
    assert {episode.side for episode in episodes} == set(Side)  # both arms take their turn

    run = evaluate(config_path=aloha_config, episodes=list(episodes), timeout_s=15.0,
                   policy=None, domain_id=fresh_domain_id())

    assert not run.callback_errors
    assert [(r.episode.seed, r.success, r.failure_reason) for r in run.records] == [
        (1002, True, None), (1003, True, None)]
    assert all(r.smoothness is not None and r.smoothness.boundaries > 0 for r in run.records)

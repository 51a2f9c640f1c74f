# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobot pi0 folder, exactly as published, drives the simulated arm through ROS.

The folder is the miniature of ``test/policies/lerobot_pi0_folder.py`` (real file names,
config keys and tensor names; tiny sizes; random weights), and the only thing written for it
is the YAML mapping a user writes after ``vla-ros inspect``. With random weights the arm moves
without succeeding, which is the point: the whole path (config, strict loading, letterboxed
64x64 cameras to the folder's 56x56, normalisation from the folder's processor files,
trajectories, controllers) runs end to end.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from node_test_constants import ARM_JOINTS, WAIT_S
import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory
import yaml

from vla_ros.msg import PolicyStatus
from vla_ros.ros.clients import set_instruction
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS, STATUS_QOS

_FOLDER_MODULE = Path(__file__).resolve().parents[1] / 'policies' / 'lerobot_pi0_folder.py'
JOINTS = (*ARM_JOINTS, 'gripper_joint')


def _folder_writers():  # the test helper lives beside the policy tests
    spec = importlib.util.spec_from_file_location('lerobot_pi0_folder', _FOLDER_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def published_config(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """The tabletop config whose policy is a published-layout pi0 folder plus its mapping."""
    writers = _folder_writers()
    root = tmp_path_factory.mktemp('published')
    vocab_size = writers.write_paligemma_style_tokenizer(root / 'tokenizer')
    folder = writers.write_pi0_folder(root / 'pi0', vocab_size=vocab_size)
    keys = writers.IMAGE_KEYS
    raw = yaml.safe_load((repo_root / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(repo_root / 'urdf' / 'tabletop_arm.urdf')
    raw['sim']['mjcf'] = str(repo_root / 'urdf' / 'tabletop_scene.xml')
    raw['policy'] = {
        'family': 'flow', 'checkpoint': str(folder), 'device': 'cpu', 'threads': 1,
        'tokenizer': str(root / 'tokenizer'),
        'inputs': {'cameras': {keys[0]: 'front', keys[1]: 'wrist', keys[2]: None},
                   'state': list(JOINTS)},
        'outputs': {'joints': list(JOINTS), 'dt_s': 0.1}}
    raw['execution']['horizon'] = 3
    path = root / 'robot.yaml'
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_published_pi0_folder_drives_the_simulated_arm_through_ros(
        graph: InProcessGraph, published_config: Path, collect) -> None:
    param = [Parameter('config_file', value=str(published_config))]
    graph.add(SimNode, parameter_overrides=param)
    graph.add(PolicyNode, parameter_overrides=param)
    probe = graph.add(Node, node_name='probe')
    arm, joints, statuses = collect(), collect(), collect()
    probe.create_subscription(JointTrajectory, 'arm_controller/joint_trajectory', arm,
                              COMMAND_QOS)
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    probe.create_subscription(PolicyStatus, 'vla/status', statuses, STATUS_QOS)
    start = dict(zip(*(lambda m: (m.name, m.position))(
        joints.wait_for(lambda msgs: bool(msgs))[-1])))

    assert set_instruction(probe, 'pick up the red cube', timeout_s=WAIT_S).accepted
    trajectories = arm.wait_for(lambda msgs: len(msgs) >= 3)
    statuses.wait_for(lambda msgs: any(m.chunks_published >= 3 for m in msgs))
    count = len(joints.messages)
    latest = joints.wait_for(lambda msgs: len(msgs) >= count + 25)[-1]

    for msg in trajectories:
        assert tuple(msg.joint_names) == ARM_JOINTS
        positions = np.array([point.positions for point in msg.points])
        # A chunk (3 points) or, after a late input under load, a one-point brake.
        assert positions.shape in ((3, 6), (1, 6)) and np.all(np.isfinite(positions))
    assert any(len(msg.points) == 3 for msg in trajectories)
    moved = np.abs(np.array([dict(zip(latest.name, latest.position))[j] for j in ARM_JOINTS])
                   - np.array([start[j] for j in ARM_JOINTS]))
    assert moved.max() > 1e-3, 'the arm did not move'
    assert all(m.state != PolicyStatus.STATE_ERROR or 'internal' not in m.last_error
               for m in statuses.messages)

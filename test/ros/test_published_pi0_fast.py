# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobot pi0-FAST folder, exactly as published, drives the simulated arm through ROS.

The folder is the miniature of ``test/policies/lerobot_pi0_fast_folder.py`` (real file names,
config keys and tensor names, its ``tokenizer/`` and released-format ``action_tokenizer/``;
tiny sizes) and the only thing written for it is the YAML mapping a user writes after
``vla-ros inspect``. Its weights are planted: whatever it sees, greedy decoding emits
``Action: `` + known FAST tokens + ``|``, which decode to a known chunk. So the test can ask
for more than motion: once the arm has got there, the arm controller is sent exactly that
chunk, unnormalised with the folder's statistics and clipped to the URDF limits. That checks
the whole path (strict loading, LeRobot's prompt, token ids V-1-128-f, the released DCT + BPE
decoding, unnormalisation, the joint mapping, trajectories per controller) over DDS.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys
from types import ModuleType

from node_test_constants import ARM_JOINTS, WAIT_S
import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from trajectory_msgs.msg import JointTrajectory
import yaml

from vla_ros.execution.joint_limits import load_urdf_limits
from vla_ros.msg import PolicyStatus
from vla_ros.ros.clients import set_instruction
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.ros.qos import COMMAND_QOS, STATUS_QOS

_HELPERS = Path(__file__).resolve().parents[1] / 'policies'
JOINTS = (*ARM_JOINTS, 'gripper_joint')


def _helper(name: str) -> ModuleType:  # the test helpers live beside the policy tests
    spec = importlib.util.spec_from_file_location(name, _HELPERS / f'{name}.py')
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def published(tmp_path_factory: pytest.TempPathFactory, repo_root: Path
              ) -> tuple[Path, np.ndarray]:
    """(tabletop config whose policy is the pi0-FAST folder, the arm chunk it must send)."""
    fast = _helper('lerobot_pi0_fast_folder')
    root = tmp_path_factory.mktemp('published_pi0_fast')
    planted = fast.write_pi0_fast_folder(root / 'pi0_fast')
    keys = fast.IMAGE_KEYS
    raw = yaml.safe_load((repo_root / 'config' / 'tabletop_arm.yaml').read_text())
    urdf = repo_root / 'urdf' / 'tabletop_arm.urdf'
    raw['embodiment']['urdf'] = str(urdf)
    raw['sim']['mjcf'] = str(repo_root / 'urdf' / 'tabletop_scene.xml')
    raw['policy'] = {
        'family': 'fast', 'checkpoint': str(root / 'pi0_fast'), 'device': 'cpu', 'threads': 1,
        'inputs': {'cameras': {keys[0]: 'front', keys[1]: 'wrist', keys[2]: None},
                   'state': list(JOINTS)},
        'outputs': {'joints': list(JOINTS), 'dt_s': 0.1}}
    raw['execution'] = {'strategy': 'sync', 'horizon': fast.CHUNK_SIZE}
    path = root / 'robot.yaml'
    path.write_text(yaml.safe_dump(raw))
    # What the model emits, unnormalised (z-score with eps 1e-8) and within the URDF limits.
    chunk = planted.normalized_chunk * (fast.MOTION_STD + 1e-8) + np.asarray(fast.ACTION_MEAN)
    limits = load_urdf_limits(urdf).subset(JOINTS)
    arm = np.clip(chunk, limits.lower, limits.upper)[:, :len(ARM_JOINTS)]
    return path, arm


def test_a_published_pi0_fast_folder_sends_its_decoded_chunk_to_the_arm_through_ros(
        graph: InProcessGraph, published: tuple[Path, np.ndarray], collect) -> None:
    config, expected = published
    param = [Parameter('config_file', value=str(config))]
    graph.add(SimNode, parameter_overrides=param)
    graph.add(PolicyNode, parameter_overrides=param)
    probe = graph.add(Node, node_name='probe')
    arm, statuses = collect(), collect()
    probe.create_subscription(JointTrajectory, 'arm_controller/joint_trajectory', arm,
                              COMMAND_QOS)
    probe.create_subscription(PolicyStatus, 'vla/status', statuses, STATUS_QOS)

    def sends_the_chunk(msg: JointTrajectory) -> bool:
        positions = np.array([point.positions for point in msg.points])
        return positions.shape == expected.shape and bool(
            np.allclose(positions, expected, atol=1e-6))

    assert set_instruction(probe, 'pick up the red cube', timeout_s=WAIT_S).accepted
    # The first chunks walk the arm there within the velocity limits; then the chunk itself.
    trajectories = arm.wait_for(lambda msgs: any(sends_the_chunk(m) for m in msgs),
                                timeout_s=2 * WAIT_S)

    for msg in trajectories:
        assert tuple(msg.joint_names) == ARM_JOINTS
        assert np.all(np.isfinite([point.positions for point in msg.points]))
    errors = {m.last_error for m in statuses.messages if m.state == PolicyStatus.STATE_ERROR}
    # Only the wait for the first camera frame may show (the node holds until it comes).
    assert all(error.startswith('no image received yet') for error in errors), errors

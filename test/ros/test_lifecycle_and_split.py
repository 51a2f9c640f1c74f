# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The policy node as a lifecycle node, a stop that holds, and one action split over controllers.

Lifecycle transitions are requested the way a lifecycle manager does, through the node's
``change_state`` service. The two-arm tests run the real flow family on a random checkpoint made
for the two-arm joints; the probe node plays the robot (joint states and camera images).
"""

from __future__ import annotations

from pathlib import Path
import time

from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from node_test_constants import ARM_JOINTS, WAIT_S
import numpy as np
import pytest
from rcl_interfaces.msg import Log
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory
import yaml

from vla_ros.action import ExecuteInstruction
from vla_ros.core.config import load_config
from vla_ros.core.errors import ConfigError
from vla_ros.execution.joint_limits import load_urdf_limits
from vla_ros.msg import PolicyStatus
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.flow.checkpoint import create_random_checkpoint, DEFAULT_SPEC
from vla_ros.ros.clients import call_service, set_instruction, wait_for_future
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS, STATUS_QOS

#: The robot's log, kept deep enough to find one line among the start-up messages.
ROSOUT_QOS = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)

TWO_ARM_CONTROLLERS = {
    'left_arm_controller': ('left_joint1', 'left_joint2', 'left_joint3', 'left_joint4'),
    'right_arm_controller': ('right_joint1', 'right_joint2', 'right_joint3', 'right_joint4'),
    'left_gripper_controller': ('left_gripper_joint',),
    'right_gripper_controller': ('right_gripper_joint',),
}
#: The two-arm policy's joint order: right side first, so routing by name is what splits it.
TWO_ARM_POLICY_JOINTS = (
    'right_joint1', 'right_joint2', 'right_joint3', 'right_joint4', 'right_gripper_joint',
    'left_joint1', 'left_joint2', 'left_joint3', 'left_joint4', 'left_gripper_joint')
#: Measured pose the probe reports, rad; the grippers half open (0.02 m of 0 .. 0.04 m).
TWO_ARM_MEASURED = {
    **{f'{side}_joint{i}': value for side in ('left', 'right')
       for i, value in zip(range(1, 5), (0.0, 0.3, 1.2, 0.0))},
    'left_gripper_joint': 0.02, 'right_gripper_joint': 0.02}
#: The policy's home pose in its own value space: the grippers normalized, half open = 0.5.
TWO_ARM_POLICY_HOME = tuple(0.5 if 'gripper' in joint else TWO_ARM_MEASURED[joint]
                            for joint in TWO_ARM_POLICY_JOINTS)
TWO_ARM_MOTION_STD = tuple(0.01 if 'gripper' in joint else 0.05
                           for joint in TWO_ARM_POLICY_JOINTS)
TWO_ARM_CAMERAS = ('head', 'left_wrist', 'right_wrist')


def _seconds(duration) -> float:
    return duration.sec + 1e-9 * duration.nanosec


def _is_hold(msg: JointTrajectory) -> bool:
    return len(msg.points) == 1 and not any(msg.points[0].velocities)


def _change_state(probe: Node, transition_id: int) -> bool:
    request = ChangeState.Request(transition=Transition(id=transition_id))
    return call_service(probe, ChangeState, 'vla_policy_node/change_state', request,
                        timeout_s=WAIT_S).success


def _wait_for_rosout_match(probe: Node, rosout: Subscription, node_name: str) -> None:
    """Block until ``rosout`` is matched with every /rosout publisher, ``node_name``'s included.

    A line logged before the match reaches a late reader only while the rosout publisher keeps
    it (rcl: transient local, 10 s lifespan); a loaded CI machine once delivered none in 30 s.
    """
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        publishers = probe.get_publishers_info_by_topic('/rosout')
        if (node_name in {info.node_name for info in publishers}
                and rosout.get_publisher_count() >= len(publishers)):
            return
        time.sleep(0.02)
    pytest.fail(f'/rosout: {rosout.get_publisher_count()} publishers matched of '
                f'{sorted(info.node_name for info in publishers)} after {WAIT_S} s')


def _lifecycle_state(probe: Node) -> str:
    return call_service(probe, GetState, 'vla_policy_node/get_state', GetState.Request(),
                        timeout_s=WAIT_S).current_state.label


def test_lifecycle_configure_activate_deactivate_cleanup(graph, config_file, collect):
    config = Parameter('config_file', value=str(config_file))
    graph.add(SimNode, parameter_overrides=[config])
    graph.add(PolicyNode, parameter_overrides=[config, Parameter('autostart', value=False)])
    probe = graph.add(Node, node_name='probe')
    arm, status, joints = collect(), collect(), collect()
    probe.create_subscription(JointTrajectory, 'arm_controller/joint_trajectory', arm,
                              COMMAND_QOS)
    probe.create_subscription(PolicyStatus, 'vla/status', status, STATUS_QOS)
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)

    unconfigured = _lifecycle_state(probe)
    configured = _change_state(probe, Transition.TRANSITION_CONFIGURE)
    inactive_refusal = set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S)
    activated = _change_state(probe, Transition.TRANSITION_ACTIVATE)
    client = ActionClient(probe, ExecuteInstruction, 'vla/execute')
    assert client.wait_for_server(timeout_sec=WAIT_S)
    goal = wait_for_future(client.send_goal_async(ExecuteInstruction.Goal(
        instruction='touch the red cube', timeout_s=60.0)), WAIT_S, 'goal')
    arm.wait_for(lambda msgs: sum(len(m.points) == 3 for m in msgs) >= 2)  # commands flow

    deactivated = _change_state(probe, Transition.TRANSITION_DEACTIVATE)
    result = wait_for_future(goal.get_result_async(), WAIT_S, 'result').result
    after_deactivate = set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S)
    held = arm.wait_for(lambda msgs: _is_hold(msgs[-1]))
    start = len(joints.messages)
    joints.wait_for(lambda msgs: len(msgs) >= start + 50)  # a second in which nothing is sent
    last_status = status.wait_for(lambda msgs: msgs[-1].last_error == 'deactivated')[-1]
    cleaned = _change_state(probe, Transition.TRANSITION_CLEANUP)
    state_after_cleanup = _lifecycle_state(probe)
    reconfigured = _change_state(probe, Transition.TRANSITION_CONFIGURE)

    assert unconfigured == 'unconfigured'
    assert configured and activated and deactivated and cleaned and reconfigured
    assert not inactive_refusal.accepted and 'not active' in inactive_refusal.message
    assert goal.accepted and result.message == 'aborted: deactivated'
    assert not after_deactivate.accepted and 'not active' in after_deactivate.message
    assert last_status.state == PolicyStatus.STATE_HOLDING
    assert state_after_cleanup == 'unconfigured'
    assert _lifecycle_state(probe) == 'inactive'
    hold_index = len(held) - 1
    assert [len(m.points) for m in held[:hold_index]] == [3] * hold_index
    assert tuple(held[hold_index].joint_names) == ARM_JOINTS
    assert arm.messages[hold_index:] == [held[hold_index]]  # nothing after the hold


def test_configure_failure_is_logged_and_leaves_the_node_unconfigured(graph, config_file,
                                                                      tmp_path, collect):
    raw = yaml.safe_load(config_file.read_text())
    raw['embodiment']['joints'][2] = 'elbow_joint'  # joint3: not a joint of the URDF
    raw['embodiment']['controllers']['arm_controller'][2] = 'elbow_joint'
    bad_config = tmp_path / 'bad.yaml'
    bad_config.write_text(yaml.safe_dump(raw))
    config = Parameter('config_file', value=str(bad_config))
    probe = graph.add(Node, node_name='probe')
    logs = collect()
    rosout = probe.create_subscription(Log, '/rosout', logs, ROSOUT_QOS)
    graph.add(PolicyNode, parameter_overrides=[config, Parameter('autostart', value=False)])
    _wait_for_rosout_match(probe, rosout, 'vla_policy_node')

    configured = _change_state(probe, Transition.TRANSITION_CONFIGURE)
    reason = logs.wait_for(lambda msgs: any('configure failed' in m.msg for m in msgs))

    assert not configured
    assert _lifecycle_state(probe) == 'unconfigured'
    line = next(m for m in reason if 'configure failed' in m.msg)
    assert line.name == 'vla_policy_node' and line.level == Log.ERROR
    assert "embodiment.joints: joints ['elbow_joint'] are not in the URDF" in line.msg
    with pytest.raises(ConfigError, match=r"\['elbow_joint'\] are not in the URDF"):
        PolicyNode(node_name='autostarted', context=graph.context, parameter_overrides=[config])


def test_stop_holds_the_simulated_arm_within_one_control_period(start_nodes, config_file,
                                                               collect):
    period_s = load_config(config_file).execution.horizon * DEFAULT_SPEC.dt_s  # one chunk cycle
    probe = start_nodes('sim', 'policy')
    events = collect()  # joint states and arm trajectories, in arrival order
    probe.create_subscription(JointState, 'joint_states', lambda m: events(('joints', m)),
                              SENSOR_QOS)
    probe.create_subscription(JointTrajectory, 'arm_controller/joint_trajectory',
                              lambda m: events(('arm', m)), COMMAND_QOS)
    assert set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S).accepted
    events.wait_for(lambda evs: sum(kind == 'arm' for kind, _ in evs) >= 2)

    stopped = call_service(probe, Trigger, 'vla/stop', Trigger.Request(), timeout_s=WAIT_S)
    evs = events.wait_for(lambda evs: max(_after_hold(evs)[1], default=0.0) > period_s + 1.0)
    resumed = call_service(probe, Trigger, 'vla/resume', Trigger.Request(), timeout_s=WAIT_S)
    moving_again = set_instruction(probe, 'touch the red cube', timeout_s=WAIT_S)
    start = len(events.messages)
    events.wait_for(lambda evs: any(kind == 'arm' and len(m.points) == 3
                                    for kind, m in evs[start:]))

    assert stopped.success and resumed.success and moving_again.accepted
    hold, times_s, later = _after_hold(evs)
    assert hold is not None and later == []  # the hold is the last command until resume
    assert _seconds(hold.points[0].time_from_start) <= DEFAULT_SPEC.dt_s
    target = np.array(hold.points[0].positions)
    settled = np.array([[dict(zip(m.name, m.position))[j] for j in hold.joint_names]
                        for kind, m in evs if kind == 'joints'][-len(times_s):])
    settled = settled[np.array(times_s) >= period_s]  # sim time since the hold arrived
    assert len(settled) >= 40
    assert np.abs(settled - target).max() < 1e-3  # rad: at the hold point, and staying there


def _after_hold(evs: list) -> tuple[JointTrajectory | None, list[float], list[JointTrajectory]]:
    """The first hold, the joint states' sim times after it (from 0) and later trajectories."""
    hold_at = next((i for i, (kind, m) in enumerate(evs) if kind == 'arm' and _is_hold(m)), None)
    if hold_at is None:
        return None, [], []
    stamps = [m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec
              for kind, m in evs[hold_at + 1:] if kind == 'joints']
    later = [m for kind, m in evs[hold_at + 1:] if kind == 'arm']
    return evs[hold_at][1], [stamp - stamps[0] for stamp in stamps], later


@pytest.fixture(scope='session')
def two_arm_config(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """test/fixtures/two_arm/config/two_arm.yaml with a random flow checkpoint; horizon 3."""
    spec = PolicySpec(joint_names=TWO_ARM_POLICY_JOINTS, camera_names=TWO_ARM_CAMERAS,
                      image_height=64, image_width=64, chunk_length=6, dt_s=0.1)
    checkpoint = create_random_checkpoint(
        tmp_path_factory.mktemp('two_arm_ckpt') / 'flow', spec, seed=1,
        home_positions=TWO_ARM_POLICY_HOME, motion_std=TWO_ARM_MOTION_STD)
    fixture = repo_root / 'test' / 'fixtures' / 'two_arm'
    raw = yaml.safe_load((fixture / 'config' / 'two_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(fixture / 'urdf' / 'two_arm.urdf')
    raw['policy']['checkpoint'] = str(checkpoint)
    raw['execution']['horizon'] = 3
    path = tmp_path_factory.mktemp('two_arm_config') / 'two_arm.yaml'
    path.write_text(yaml.safe_dump(raw))
    return path


def _play_robot(probe: Node, joints: tuple[str, ...]) -> None:
    """Publish joint states (``joints`` at TWO_ARM_MEASURED) and a frame per camera, 20 Hz."""
    state_pub = probe.create_publisher(JointState, 'joint_states', SENSOR_QOS)
    image_pubs = [probe.create_publisher(Image, f'camera/{name}/image_raw', SENSOR_QOS)
                  for name in TWO_ARM_CAMERAS]
    frame = Image(height=64, width=64, encoding='rgb8', step=64 * 3,
                  data=bytes(range(256)) * (64 * 64 * 3 // 256))
    state = JointState(name=list(joints), position=[TWO_ARM_MEASURED[j] for j in joints])

    def publish() -> None:
        state_pub.publish(state)
        for image_pub in image_pubs:
            image_pub.publish(frame)
    probe.create_timer(0.05, publish)


def _start_two_arm(graph, config: Path, **params: object) -> Node:
    overrides = [Parameter('config_file', value=str(config))]
    overrides += [Parameter(name, value=value) for name, value in params.items()]
    graph.add(PolicyNode, parameter_overrides=overrides)
    return graph.add(Node, node_name='probe')


def test_two_arm_action_is_split_over_four_controllers(graph, two_arm_config, collect):
    probe = _start_two_arm(graph, two_arm_config)
    received = {controller: collect() for controller in TWO_ARM_CONTROLLERS}
    for controller, collector in received.items():
        probe.create_subscription(JointTrajectory, f'{controller}/joint_trajectory', collector,
                                  COMMAND_QOS)
    _play_robot(probe, tuple(TWO_ARM_MEASURED))

    response = set_instruction(probe, 'hand the cube to the left arm', timeout_s=WAIT_S)
    first = {controller: collector.wait_for(lambda msgs: len(msgs) >= 1)[0]
             for controller, collector in received.items()}

    assert response.accepted, response.message
    limits = load_urdf_limits(load_config(two_arm_config).embodiment.urdf)
    for controller, joints in TWO_ARM_CONTROLLERS.items():
        msg = first[controller]
        assert tuple(msg.joint_names) == joints, controller
        positions = np.array([point.positions for point in msg.points])
        bounds = limits.subset(joints)
        assert positions.shape == (3, len(joints)), controller
        assert np.all((positions >= bounds.lower) & (positions <= bounds.upper)), controller
    for side in ('left', 'right'):  # normalized ~0.5 -> ~0.02 m, not clipped at the 0.04 limit
        gripper = np.array([p.positions[0] for p in first[f'{side}_gripper_controller'].points])
        assert np.abs(gripper - 0.02).max() < 5e-3, gripper


def test_joint_missing_from_joint_states_is_reported_and_refuses_motion(graph, two_arm_config,
                                                                         collect):
    probe = _start_two_arm(graph, two_arm_config, **{'startup.joint_state_timeout_s': 0.5})
    status = collect()
    probe.create_subscription(PolicyStatus, 'vla/status', status, STATUS_QOS)
    _play_robot(probe, tuple(j for j in TWO_ARM_MEASURED if j != 'right_gripper_joint'))

    reported = status.wait_for(lambda msgs: any('missing from joint_states' in m.last_error
                                                for m in msgs))
    refused = set_instruction(probe, 'hand the cube to the left arm', timeout_s=WAIT_S)

    assert reported[-1].state == PolicyStatus.STATE_ERROR
    assert reported[-1].last_error.startswith(
        "configured joints ['right_gripper_joint'] are missing from joint_states after 0.5 s")
    assert not refused.accepted
    assert "['right_gripper_joint'] are missing" in refused.message

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Safety over real DDS with the simulated arm: lies in the joint states, and stop from speed.

The policy is a random flow checkpoint whose actions sit 2 rad away from home on joint1
(the base, which swings the arm above the table without touching anything), so every chunk
drives joint1 towards its velocity limit (2 rad/s: max_step_rad 0.2 per 0.1 s step), within
an acceleration limit of 20 rad/s^2. Speeds and
times are read from the simulator's own joint states (velocity field, stamps on the
simulated clock), i.e. what the arm did, not what was commanded.
"""

from __future__ import annotations

from pathlib import Path

from builtin_interfaces.msg import Duration
from node_test_constants import SIM_HOME, WAIT_S
import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
import yaml

from vla_ros.msg import PolicyStatus
from vla_ros.policies.flow.checkpoint import create_random_checkpoint, DEFAULT_SPEC
from vla_ros.ros.clients import call_service, set_instruction
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS, STATUS_QOS

JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
#: URDF velocity limits of JOINTS (urdf/tabletop_arm.urdf).
VELOCITY_LIMITS = np.array([2.0, 2.0, 2.5, 3.0, 3.0, 3.0, 0.1])
#: How far above a limit the simulated arm may briefly go (physics tracking a spline).
PHYSICS_SLACK = 1.1


@pytest.fixture(scope='module')
def swing_config(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """The tabletop config with a policy that swings joint1 at full speed."""
    target = np.array(SIM_HOME, dtype=np.float64)
    target[0] += 2.0
    checkpoint = create_random_checkpoint(
        tmp_path_factory.mktemp('swing') / 'flow', DEFAULT_SPEC, seed=0,
        home_positions=tuple(target), motion_std=(0.01,) * 6 + (0.0005,))
    raw = yaml.safe_load((repo_root / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(repo_root / 'urdf' / 'tabletop_arm.urdf')
    raw['sim']['mjcf'] = str(repo_root / 'urdf' / 'tabletop_scene.xml')
    raw['policy'].update(family='flow', checkpoint=str(checkpoint))
    raw['execution']['horizon'] = 3
    # Without an acceleration limit every sync chunk starts at full speed from rest, and the
    # simulated servo overshoots that step (measured joint1 speeds up to 2-3x the limit, lies
    # or not); with one, the commanded motion is one the servo tracks within the limits.
    raw['safety']['max_acceleration_rad_s2'] = 20.0
    path = tmp_path_factory.mktemp('config') / 'swing.yaml'
    path.write_text(yaml.safe_dump(raw))
    return path


def _start(graph: InProcessGraph, config: Path) -> Node:
    param = [Parameter('config_file', value=str(config))]
    graph.add(SimNode, parameter_overrides=param)
    graph.add(PolicyNode, parameter_overrides=param)
    return graph.add(Node, node_name='probe')


def _trace(states: list[JointState]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times on the simulated clock, positions, velocities) of JOINTS, by name."""
    times = np.array([m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec for m in states])
    rows = [[dict(zip(m.name, m.position))[j] for j in JOINTS] for m in states]
    speeds = [[dict(zip(m.name, m.velocity))[j] for j in JOINTS] for m in states]
    return times, np.array(rows), np.array(speeds)


def test_stop_from_full_speed_brakes_within_the_limits_and_never_pulls_back(
        graph: InProcessGraph, swing_config: Path, collect) -> None:
    probe = _start(graph, swing_config)
    joints = collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    assert set_instruction(probe, 'swing', timeout_s=WAIT_S).accepted
    joints.wait_for(lambda msgs: bool(msgs) and abs(
        dict(zip(msgs[-1].name, msgs[-1].velocity))['joint1']) > 1.0)

    reply = call_service(probe, Trigger, 'vla/stop', Trigger.Request(), timeout_s=WAIT_S)
    at_reply = len(joints.messages)
    joints.wait_for(lambda msgs: len(msgs) >= at_reply + 75)  # 1.5 s of simulated time

    assert reply.success, reply.message
    times, positions, speeds = _trace(joints.messages[at_reply - 1:])
    moving = np.sign(speeds[0, 0])
    assert abs(speeds[0, 0]) > 0.3, 'the arm was not moving at the stop'
    # No joint above its velocity limit after the stop.
    assert np.all(np.abs(speeds) <= PHYSICS_SLACK * VELOCITY_LIMITS), np.abs(speeds).max(axis=0)
    # Never pulled back behind where it was when the stop was answered.
    assert np.all(moving * (positions[:, 0] - positions[0, 0]) >= -2e-3)
    # At rest within 0.5 s of simulated time (one 0.1 s period of braking plus tracking).
    settled = times >= times[0] + 0.5
    assert settled.sum() >= 10
    assert np.all(np.abs(speeds[settled]) < 0.02), np.abs(speeds[settled]).max(axis=0)


@pytest.mark.parametrize(('lie', 'message'), [
    ('joint1-twice', 'more than once'),
    ('joint1-far-outside', 'outside its URDF limits'),
], ids=['duplicate-name', 'out-of-limits'])
def test_a_lying_joint_state_is_reported_and_no_command_starts_from_it(
        graph: InProcessGraph, swing_config: Path, collect, lie: str, message: str) -> None:
    """Every arm trajectory starts within reach of where the simulator says the arm is.

    One collector keeps the simulator's joint states and the node's arm trajectories in
    arrival order, so each trajectory is checked against the newest true joint state before
    it: its first point within the velocity limit times (its time_from_start + 0.4 s). The
    0.4 s covers transport, the measurement's age and the simulated servo's lag behind the
    plan (the plan may lead the measured arm by 0.5 rad at full speed). The lies put joint1
    1.2 rad or more from the truth, and a command planned from them starts within 0.2 rad of
    the lie: 1.0 rad away or more, the 1.0 rad this allows joint1 at a 0.1 s step (the old
    buffer accepted them; a loaded machine needs the slack).
    """
    probe = _start(graph, swing_config)
    events, statuses = collect(), collect()
    probe.create_subscription(JointState, 'joint_states', events, SENSOR_QOS)
    probe.create_subscription(JointTrajectory, 'arm_controller/joint_trajectory', events,
                              COMMAND_QOS)
    probe.create_subscription(PolicyStatus, 'vla/status', statuses, STATUS_QOS)
    liar = probe.create_publisher(JointState, 'joint_states', SENSOR_QOS)
    assert set_instruction(probe, 'swing', timeout_s=WAIT_S).accepted
    events.wait_for(lambda msgs: len(msgs) >= 10)
    start = len(events.messages)

    def true_states(msgs: list) -> list[JointState]:
        return [m for m in msgs if isinstance(m, JointState) and len(m.velocity)]

    for _ in range(20):  # a burst, so that some lies land between inferences
        latest = true_states(events.messages)[-1]
        names, values = list(latest.name), list(latest.position)
        first = names.index('joint1')
        if lie == 'joint1-twice':
            names.append('joint1')
            values.append(values[first] + 1.2)
        else:
            values[first] = 10.0
        liar.publish(JointState(name=names, position=values))
        count = len(true_states(events.messages))
        events.wait_for(lambda msgs, count=count: len(true_states(msgs)) > count)
    statuses.wait_for(lambda msgs: any(message in m.last_error for m in msgs))
    events.wait_for(lambda msgs: len(true_states(msgs)) >= 100)

    checked, measured = 0, None
    for msg in events.messages[start:]:
        if isinstance(msg, JointState):
            if len(msg.velocity):
                measured = dict(zip(msg.name, msg.position))
            continue
        if measured is None:
            continue
        first_point = np.array(msg.points[0].positions)
        t1 = msg.points[0].time_from_start.sec + 1e-9 * msg.points[0].time_from_start.nanosec
        here = np.array([measured[name] for name in msg.joint_names])
        reach = VELOCITY_LIMITS[:6] * (t1 + 0.4)
        assert np.all(np.abs(first_point - here) <= reach), (first_point, here, t1)
        checked += 1
    assert checked >= 3
    assert max(m.errors for m in statuses.messages) >= 1


def test_the_simulated_controller_takes_an_empty_trajectory_as_hold_here(
        graph: InProcessGraph, swing_config: Path, collect) -> None:
    graph.add(SimNode, parameter_overrides=[Parameter('config_file', value=str(swing_config))])
    probe = graph.add(Node, node_name='probe')
    joints = collect()
    probe.create_subscription(JointState, 'joint_states', joints, SENSOR_QOS)
    arm = probe.create_publisher(JointTrajectory, 'arm_controller/joint_trajectory',
                                 COMMAND_QOS)
    home = dict(zip(joints.wait_for(lambda msgs: bool(msgs))[-1].name,
                    joints.messages[-1].position))
    start = [home[joint] for joint in JOINTS[:6]]
    goal = list(start)
    goal[0] += 1.5  # joint1 over 3 s: 0.5 rad/s
    arm.publish(JointTrajectory(joint_names=list(JOINTS[:6]), points=[
        JointTrajectoryPoint(positions=goal, time_from_start=Duration(sec=3))]))
    joints.wait_for(lambda msgs: abs(msgs[-1].position[0] - start[0]) > 0.2)

    arm.publish(JointTrajectory(joint_names=list(JOINTS[:6])))  # no points: hold here
    at_hold = len(joints.messages)
    joints.wait_for(lambda msgs: len(msgs) >= at_hold + 50)

    _, positions, _ = _trace(joints.messages[at_hold + 25:])  # after 0.5 s to settle
    assert np.ptp(positions[:, 0]) < 2e-3  # holding
    assert positions[-1, 0] < start[0] + 1.0  # stopped well short of the 1.5 rad goal

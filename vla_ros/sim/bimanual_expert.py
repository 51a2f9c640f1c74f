# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A scripted expert for the bimanual tasks (``bimanual_tasks``), one IK solver per arm.

``BimanualExpert`` reads privileged state (the measured joints, the cubes' poses) and returns,
once per policy step (``POLICY_DT_S`` = 0.1 s), the absolute joint targets for the end of that
step, in the scene's joint order (grippers as finger opening, m): what the controllers receive.

Each arm's end effector (its ``sim.frames`` site between the fingertips) moves along straight
Cartesian segments, at most ``LINEAR_STEP_M`` per step, and each step is solved for that arm's
six joints by damped least squares on MuJoCo's site Jacobian (``mj_jacSite``: position, and
orientation at ``ORIENTATION_WEIGHT``) on a kinematic copy of the scene. Joint targets change
by at most ``ARM_STEP_RAD`` (1.5 rad/s, half the URDF limit) and the grippers by
``GRIPPER_STEP_M`` per step. The script, per ``BimanualPhase``:

- ``side_reach``: the named arm approaches 8 cm above the cube, its gripper closed and pitched
  down towards the cube, then descends until its end effector is 1 cm above the top face.
- ``handover``: the giving arm (the other side) approaches above the cube with the gripper
  open, square to the cube's faces, descends to the cube's centre, closes and lifts it to the
  meeting point ``MEET_POINT_M`` between the arms while the receiving arm waits 10 cm to its
  side, gripper open and turned so the fingers close vertically; the receiver moves in to the
  cube, closes, the giver opens and withdraws.

Phases advance on the measured pose (``ARRIVAL_TOLERANCE_M``) or after a step budget.

For DAgger (``continue_from``, side reach only) a policy drives the arms and the expert labels
the states it visits: each label is one step from the targets the policy really sent, and a
descent whose gripper is no longer above the cube goes back to the approach, so a policy that
heads for the wrong cube is labelled back to the named one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import enum
from typing import Protocol, TYPE_CHECKING

import mujoco  # after vla_ros.sim.mujoco_sim (the package's __init__), which chose the GL backend
import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.sim.bimanual_tasks import BimanualEpisode, BimanualTaskKind, Side
from vla_ros.sim.expert import driven_targets, follow_one_step, RolloutResult
from vla_ros.sim.tasks import CUBE_REST_Z_M
from vla_ros.sim.trajectory_follower import TrajectoryFollower

if TYPE_CHECKING:
    from vla_ros.core.sim_config import SimConfig
    from vla_ros.sim.mujoco_sim import MujocoSim

__all__ = [
    'ARM_JOINTS', 'BimanualExpert', 'BimanualPhase', 'MEET_POINT_M', 'POLICY_DT_S',
    'bimanual_max_steps', 'run_bimanual_episode',
]

#: Time between the expert's targets, as between a policy's chunk rows, seconds.
POLICY_DT_S = 0.1
#: An arm's six joints, without the side prefix (``left_waist``, ...).
ARM_JOINTS = ('waist', 'shoulder', 'elbow', 'forearm_roll', 'wrist_angle', 'wrist_rotate')
LINEAR_STEP_M = 0.03
ARM_STEP_RAD = 0.15
GRIPPER_STEP_M = 0.006
#: Finger opening from the centre line, m: closed (the joint's lower limit) squeezes the 4 cm
#: cube; open leaves 1.5 cm of play per side.
GRIPPER_CLOSED_M = 0.021
GRIPPER_OPEN_M = 0.05
#: Where the giver holds the cube for the handover, world, m.
MEET_POINT_M = np.array([0.0, 0.5, 0.2])
#: The receiver's wait, this far from the meeting point towards its own side, m.
RECEIVE_STANDOFF_M = 0.1
#: Pitch of the gripper below horizontal when reaching or picking from above, rad.
PICK_PITCH_RAD = np.deg2rad(60.0)
APPROACH_HEIGHT_M = 0.08
REACH_CLEARANCE_M = 0.01
ARRIVAL_TOLERANCE_M = 0.01
#: How far (horizontally) a driven descent may drift from the cube's vertical before the
#: relabelling expert sends it back to the approach (``BimanualExpert.continue_from``): the
#: side reach's success radius.
DESCENT_DRIFT_M = 0.03
ORIENTATION_WEIGHT = 0.3
JOINT_MARGIN_RAD = 0.05
#: Steps a gripper is given to close or open before the script goes on; it then also waits
#: (up to as many steps again) until both fingers moved less than ``GRIPPER_SETTLED_M`` in a
#: step, so the giver never lets go before the receiver's fingers have closed on the cube.
GRIPPER_STEPS = 8
GRIPPER_SETTLED_M = 0.0005
#: Steps after which a motion phase ends even if the arm has not arrived.
PHASE_STEP_BUDGET = 40
_IK_ITERATIONS = 15
_IK_DAMPING = 0.05


class BimanualPhase(enum.Enum):
    """Where the expert is in its script."""

    APPROACH = 'approach'
    DESCEND = 'descend'
    GRASP = 'grasp'
    LIFT = 'lift'
    RECEIVE = 'receive'
    HANDOVER_GRASP = 'handover_grasp'
    RELEASE = 'release'
    RETREAT = 'retreat'


class BimanualExpertScene(Protocol):
    """The privileged state the expert reads (``MujocoSim`` provides it)."""

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The columns of ``joint_positions``."""
        ...

    def joint_positions(self) -> NDArray[np.float64]:
        """(J,) measured joints, rad (grippers m)."""
        ...

    def object_positions(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (3,) centre, world frame, m."""
        ...

    def object_orientations(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (4,) quaternion (w, x, y, z), world frame."""
        ...


def bimanual_max_steps(task: BimanualTaskKind) -> int:
    """A step budget in which the expert finishes ``task`` with room to spare."""
    return 50 if task is BimanualTaskKind.SIDE_REACH else 160


def _rotation(approach: NDArray[np.float64], fingers: NDArray[np.float64]
              ) -> NDArray[np.float64]:
    """End-effector rotation with x along ``approach`` and y (the finger axis) ``fingers``."""
    x_axis = approach / np.linalg.norm(approach)
    y_axis = fingers - (fingers @ x_axis) * x_axis
    y_axis /= np.linalg.norm(y_axis)
    return np.column_stack([x_axis, y_axis, np.cross(x_axis, y_axis)])


def _pitched(heading: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pointing along the horizontal ``heading``, pitched down by ``PICK_PITCH_RAD``."""
    approach = np.cos(PICK_PITCH_RAD) * heading + np.sin(PICK_PITCH_RAD) * np.array([0, 0, -1.0])
    return _rotation(approach, np.cross([0.0, 0.0, 1.0], heading))


class _Arm:
    """One arm's kinematics on the shared kinematic copy: pose, Jacobian and DLS solve."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, config: SimConfig,
                 side: Side, scene_joints: tuple[str, ...]) -> None:
        self._model, self._data = model, data
        bindings = {joint.name: joint.mjcf_joint for joint in config.joints}
        names = [f'{side.value}_{joint}' for joint in ARM_JOINTS]
        try:
            joints = [model.joint(bindings[name]) for name in names]
            self._site_id = model.site(config.frames[side.frame]).id
        except KeyError as err:
            raise ConfigError(f'{config.mjcf}: the bimanual expert needs joints {names} and '
                              f'frame {side.frame!r} in the sim section: {err}') from err
        self.columns = np.array([scene_joints.index(name) for name in names])
        self.gripper_column = scene_joints.index(side.gripper_joint)
        self._qpos_index = np.array([int(j.qposadr[0]) for j in joints])
        self._dof_index = np.array([int(j.dofadr[0]) for j in joints])
        ranges = model.jnt_range[[j.id for j in joints]]
        self._lower = ranges[:, 0] + JOINT_MARGIN_RAD
        self._upper = ranges[:, 1] - JOINT_MARGIN_RAD
        mujoco.mj_kinematics(model, data)
        self.base = data.xpos[model.jnt_bodyid[joints[0].id]].copy()
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def heading_to(self, point: NDArray[np.float64]) -> NDArray[np.float64]:
        """Unit horizontal direction from this arm's base to ``point``."""
        offset = np.array([point[0] - self.base[0], point[1] - self.base[1], 0.0])
        heading: NDArray[np.float64] = offset / np.linalg.norm(offset)
        return heading

    def pose(self, arm_positions: NDArray[np.float64]
             ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(position (3,), rotation (3, 3)) of the end effector at ``arm_positions`` (6,)."""
        self._data.qpos[self._qpos_index] = arm_positions
        mujoco.mj_kinematics(self._model, self._data)
        return (self._data.site_xpos[self._site_id].copy(),
                self._data.site_xmat[self._site_id].reshape(3, 3).copy())

    def solve(self, start: NDArray[np.float64], position: NDArray[np.float64],
              rotation: NDArray[np.float64]) -> NDArray[np.float64]:
        """Arm joints (6,) near ``start`` that put the end effector at the pose (damped LS)."""
        arm = start.copy()
        for _ in range(_IK_ITERATIONS):
            current_position, current_rotation = self.pose(arm)
            error = np.concatenate([
                position - current_position,
                ORIENTATION_WEIGHT * 0.5 * np.cross(current_rotation.T, rotation.T).sum(axis=0)])
            mujoco.mj_comPos(self._model, self._data)
            mujoco.mj_jacSite(self._model, self._data, self._jacp, self._jacr, self._site_id)
            jacobian = np.vstack([self._jacp[:, self._dof_index],
                                  ORIENTATION_WEIGHT * self._jacr[:, self._dof_index]])
            damped = jacobian @ jacobian.T + _IK_DAMPING ** 2 * np.eye(6)
            arm = np.clip(arm + jacobian.T @ np.linalg.solve(damped, error),
                          self._lower, self._upper)
        return arm


@dataclass
class _Target:
    """Where one arm goes this step: end-effector pose and gripper opening."""

    position: NDArray[np.float64]
    rotation: NDArray[np.float64]
    gripper_m: float


def _square_heading(heading: NDArray[np.float64], cube_quaternion: NDArray[np.float64]
                    ) -> NDArray[np.float64]:
    """The cube face normal (horizontal) nearest ``heading``, so open fingers meet two faces."""
    w, x, y, z = cube_quaternion
    cube_yaw_rad = float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
    quarter = np.pi / 2
    heading_rad = float(np.arctan2(heading[1], heading[0]))
    yaw_rad = cube_yaw_rad + quarter * round((heading_rad - cube_yaw_rad) / quarter)
    return np.array([np.cos(yaw_rad), np.sin(yaw_rad), 0.0])


class BimanualExpert:
    """Solves one episode of a bimanual task; make a new one per episode.

    Args:
        config: the sim section the scene runs (its kinematics are what the expert inverts,
            its joint order is the order of the targets).
        episode: the task, the cube and the side.

    Raises:
        ConfigError: the scene cannot be loaded or lacks an arm's joints or frame.
    """

    def __init__(self, config: SimConfig, episode: BimanualEpisode) -> None:
        try:
            model = mujoco.MjModel.from_xml_path(str(config.mjcf))
        except ValueError as err:
            raise ConfigError(f'sim.mjcf {str(config.mjcf)!r}: cannot load: {err}') from err
        data = mujoco.MjData(model)
        self._arms = {side: _Arm(model, data, config, side, config.joint_names)
                      for side in Side}
        self._episode = episode
        self._actor = episode.side if episode.task is BimanualTaskKind.SIDE_REACH \
            else episode.side.other
        self._phase = BimanualPhase.APPROACH
        self._phase_steps = 0
        self._command: NDArray[np.float64] | None = None
        self._grip_rotation: NDArray[np.float64] | None = None
        self._retreat_position: NDArray[np.float64] | None = None
        self._hold_position: NDArray[np.float64] | None = None
        self._last_grippers_m: NDArray[np.float64] | None = None
        self._relabelling = False

    @property
    def phase(self) -> BimanualPhase:
        """The current phase of the script."""
        return self._phase

    def act(self, scene: BimanualExpertScene) -> NDArray[np.float64]:
        """Joint targets (J,) for the end of the next step, in the scene's joint order."""
        measured = scene.joint_positions()
        if self._command is None:
            self._command = measured.copy()
        cube = scene.object_positions()[self._episode.cube_name]
        quaternion = scene.object_orientations()[self._episode.cube_name]
        if self._relabelling:
            self._follow_driver(measured, cube)
        targets = self._targets(cube, quaternion)
        if self._advance(measured, targets):
            targets = self._targets(cube, quaternion)
        command = self._command.copy()
        for side, target in targets.items():
            command = self._step_arm(side, command, target)
        self._command = command
        return command.copy()

    def continue_from(self, targets: NDArray[np.float64]) -> None:
        """Take ``targets`` (J, the scene's joints) as the ones last sent, for relabelling.

        DAgger: a policy drove the arms this step. The next ``act`` steps on from what was
        really commanded, and a descent whose end effector is more than ``DESCENT_DRIFT_M``
        from the cube's vertical goes back to the approach.

        Raises:
            ConfigError: the hand-over (its grasps and hand-off are not relabelled), or
                ``targets`` of another shape than the expert's own.
            RuntimeError: before the first ``act``.
        """
        if self._episode.task is not BimanualTaskKind.SIDE_REACH:
            raise ConfigError(f'BimanualExpert.continue_from: relabels side_reach, not '
                              f'{self._episode.task.value}')
        self._command = driven_targets('BimanualExpert', self._command, targets)
        self._relabelling = True

    def _follow_driver(self, measured: NDArray[np.float64], cube: NDArray[np.float64]) -> None:
        """Back to the approach when a driven descent left the cube's vertical."""
        if self._phase is not BimanualPhase.DESCEND:
            return
        actor = self._arms[self._actor]
        position = actor.pose(measured[actor.columns])[0]
        if float(np.linalg.norm(position[:2] - cube[:2])) > DESCENT_DRIFT_M:
            self._phase = BimanualPhase.APPROACH
            self._phase_steps = 0

    def _step_arm(self, side: Side, command: NDArray[np.float64], target: _Target
                  ) -> NDArray[np.float64]:
        """``command`` with ``side``'s joints one step towards ``target``."""
        arm = self._arms[side]
        start = command[arm.columns]
        position, _ = arm.pose(start)
        offset = target.position - position
        distance_m = float(np.linalg.norm(offset))
        if distance_m > LINEAR_STEP_M:
            offset *= LINEAR_STEP_M / distance_m
        solved = arm.solve(start, position + offset, target.rotation)
        command[arm.columns] = start + np.clip(solved - start, -ARM_STEP_RAD, ARM_STEP_RAD)
        gripper = command[arm.gripper_column]
        command[arm.gripper_column] = gripper + np.clip(target.gripper_m - gripper,
                                                        -GRIPPER_STEP_M, GRIPPER_STEP_M)
        return command

    def _targets(self, cube: NDArray[np.float64], quaternion: NDArray[np.float64]
                 ) -> dict[Side, _Target]:
        """Each moving arm's target in this phase; an arm not named holds its command."""
        actor, phase = self._arms[self._actor], self._phase
        if self._episode.task is BimanualTaskKind.SIDE_REACH:
            rotation = _pitched(actor.heading_to(cube))
            top = cube + np.array([0.0, 0.0, CUBE_REST_Z_M])
            height_m = APPROACH_HEIGHT_M if phase is BimanualPhase.APPROACH \
                else REACH_CLEARANCE_M
            return {self._actor: _Target(top + [0.0, 0.0, height_m], rotation,
                                         GRIPPER_CLOSED_M)}
        if phase in (BimanualPhase.APPROACH, BimanualPhase.DESCEND):
            self._grip_rotation = _pitched(_square_heading(actor.heading_to(cube), quaternion))
            height_m = APPROACH_HEIGHT_M if phase is BimanualPhase.APPROACH else 0.0
            return {self._actor: _Target(cube + [0.0, 0.0, height_m], self._grip_rotation,
                                         GRIPPER_OPEN_M)}
        assert self._grip_rotation is not None  # set before the grasp
        giver_closed = phase in (BimanualPhase.GRASP, BimanualPhase.LIFT,
                                 BimanualPhase.RECEIVE, BimanualPhase.HANDOVER_GRASP)
        giver = _Target(MEET_POINT_M if phase is not BimanualPhase.GRASP else cube,
                        self._grip_rotation, GRIPPER_CLOSED_M if giver_closed else GRIPPER_OPEN_M)
        if phase is BimanualPhase.GRASP:
            return {self._actor: giver}
        receiver_side = self._episode.side
        receiver = self._arms[receiver_side]
        heading = receiver.heading_to(MEET_POINT_M)
        rotation = _rotation(heading, np.array([0.0, 0.0, 1.0]))
        if phase is BimanualPhase.LIFT:
            standoff = MEET_POINT_M - RECEIVE_STANDOFF_M * heading
            return {self._actor: giver, receiver_side: _Target(standoff, rotation,
                                                               GRIPPER_OPEN_M)}
        if phase is BimanualPhase.RECEIVE:
            return {self._actor: giver, receiver_side: _Target(cube, rotation, GRIPPER_OPEN_M)}
        assert self._hold_position is not None  # set on entering HANDOVER_GRASP
        receiving = _Target(self._hold_position, rotation, GRIPPER_CLOSED_M)
        if phase is BimanualPhase.RETREAT:
            assert self._retreat_position is not None  # set on entering RETREAT
            giver = _Target(self._retreat_position, self._grip_rotation, GRIPPER_OPEN_M)
            receiving.position = self._hold_position - RECEIVE_STANDOFF_M / 2 * heading
        return {self._actor: giver, receiver_side: receiving}

    def _advance(self, measured: NDArray[np.float64], targets: dict[Side, _Target]) -> bool:
        """Go to the next phase once the arms arrived or the grippers closed or opened."""
        self._phase_steps += 1
        arrived = all(np.linalg.norm(self._arms[side].pose(measured[self._arms[side].columns])[0]
                                     - target.position) < ARRIVAL_TOLERANCE_M
                      for side, target in targets.items())
        grippers_m = measured[[arm.gripper_column for arm in self._arms.values()]]
        settled = self._last_grippers_m is not None and bool(
            np.all(np.abs(grippers_m - self._last_grippers_m) < GRIPPER_SETTLED_M))
        self._last_grippers_m = grippers_m
        gripping = self._phase in (BimanualPhase.GRASP, BimanualPhase.HANDOVER_GRASP,
                                   BimanualPhase.RELEASE)
        done = (self._phase_steps >= GRIPPER_STEPS and settled
                or self._phase_steps >= 2 * GRIPPER_STEPS) if gripping \
            else arrived or self._phase_steps >= PHASE_STEP_BUDGET
        order = list(BimanualPhase)
        last = BimanualPhase.DESCEND if self._episode.task is BimanualTaskKind.SIDE_REACH \
            else BimanualPhase.RETREAT
        if not done or self._phase is last:
            return False
        self._phase = order[order.index(self._phase) + 1]
        self._phase_steps = 0
        if self._phase is BimanualPhase.HANDOVER_GRASP:
            receiver = self._arms[self._episode.side]
            self._hold_position = receiver.pose(measured[receiver.columns])[0]
        if self._phase is BimanualPhase.RETREAT:
            giver = self._arms[self._actor]
            position, rotation = giver.pose(measured[giver.columns])
            self._retreat_position = position - 0.12 * rotation[:, 0] + [0.0, 0.0, 0.05]
        return True


#: Called once per step before the action is applied: (scene, measured (J,), action (J,)).
BimanualStepRecorder = Callable[[BimanualExpertScene, NDArray[np.float64],
                                 NDArray[np.float64]], None]


def run_bimanual_episode(sim: MujocoSim, episode: BimanualEpisode, *, max_steps: int | None = None,
                         steps_after_success: int = 3, control_period_s: float = 0.02,
                         on_step: BimanualStepRecorder | None = None,
                         drive: Callable[[NDArray[np.float64]], NDArray[np.float64]]
                         | None = None) -> RolloutResult:
    """Reset ``sim`` to the episode and run a fresh expert until success or ``max_steps``.

    As ``vla_ros.sim.expert.run_expert_episode``: each target becomes a one-point trajectory
    due one step later, followed by a ``TrajectoryFollower`` resampled every
    ``control_period_s``, which is what the sim node does with the same trajectory over ROS.
    ``max_steps`` None takes ``bimanual_max_steps``. ``drive`` (if given) maps the expert's
    targets to the ones executed (a policy driving, DAgger) and the expert continues from those
    (``BimanualExpert.continue_from``); ``on_step`` still sees the expert's, the labels.
    """
    sim.reset(episode.seed)
    expert = BimanualExpert(sim.config, episode)
    budget = bimanual_max_steps(episode.task) if max_steps is None else max_steps
    follower = TrajectoryFollower(sim.joint_names, sim.joint_positions())
    substeps = max(1, round(POLICY_DT_S / control_period_s))
    first_success_step: int | None = None
    step = 0
    while step < budget:
        action = expert.act(sim)
        if on_step is not None:
            on_step(sim, sim.joint_positions(), action)
        if drive is not None:
            action = drive(action)
            expert.continue_from(action)
        follow_one_step(sim, follower, action, substeps=substeps)
        step += 1
        if first_success_step is None and episode.is_success(sim):
            first_success_step = step
        if first_success_step is not None and step >= first_success_step + steps_after_success:
            break
    return RolloutResult(success=first_success_step is not None, steps=step,
                         time_to_success_s=None if first_success_step is None
                         else first_success_step * POLICY_DT_S)

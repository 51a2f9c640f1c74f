# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A scripted expert for the tabletop tasks, and an in-process rollout that runs it.

``ScriptedExpert`` reads privileged state (the arm's measured joints, the cube's pose) and
returns, once per policy step (``POLICY_DT_S`` = 0.1 s), the absolute joint position targets
for the end of that step: exactly what a policy's action chunk holds row by row, so recorded
(observation, action) pairs teach a policy what it must output.

It moves the fingertips along straight Cartesian segments, from above the cube:

- ``reach``: approach a point above the cube, descend until ``ee_site`` is 1 cm above the
  cube's top face (the reach point of ``tasks``), hold there.
- ``lift``: open the gripper, approach above the cube with the fingers turned square to the
  cube's faces, descend until ``ee_site`` is level with the cube's centre, close the gripper,
  lift to 15 cm, hold there.
- ``place``: as ``lift``, then carry the cube at 15 cm until its centre is above the target
  pad's (the cube's offset from ``ee_site`` measured once lifted), lower it until it is
  ``PLACE_CLEARANCE_M`` above its resting height, open the fingers as for the approach, and
  retreat straight up to ``APPROACH_Z_M``.

Each step moves the commanded fingertip pose at most ``LINEAR_STEP_M`` towards the phase's
goal and solves for the joints by damped least squares on MuJoCo's site Jacobian
(``mj_jacSite`` of ``ee_site``, position and orientation), on a kinematic copy of the scene.
Targets stay ``JOINT_MARGIN_RAD`` inside the joint limits and change by at most
``ARM_STEP_RAD`` (1.5 rad/s) and ``GRIPPER_STEP_M`` (8 cm/s) per step, within the URDF velocity
limits and the config's ``safety.max_step_rad``, so the policy node would not clip them. The
phases advance on the measured pose, so the expert closes the loop on what the arm really did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import enum
from pathlib import Path
from typing import Protocol

# The package's __init__ imported vla_ros.sim.mujoco_sim first, which chose the GL backend.
import mujoco
import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.sim.mujoco_sim import MujocoSim
from vla_ros.sim.scene import ARM_JOINT_NAMES
from vla_ros.sim.tasks import (
    CUBE_REST_Z_M,
    Episode,
    GRASP_HEIGHT_M,
    HOLD_DISTANCE_M,
    TARGET_NAME,
    TaskKind,
)
from vla_ros.sim.trajectory_follower import TrajectoryFollower

__all__ = [
    'ExpertPhase', 'ExpertScene', 'POLICY_DT_S', 'RolloutResult', 'ScriptedExpert',
    'driven_targets', 'follow_one_step', 'max_steps_for', 'run_expert_episode',
]

#: Time between the expert's targets, as between a policy's chunk rows, seconds.
POLICY_DT_S = 0.1
#: Largest move of the commanded fingertip point per step, m (0.3 m/s).
LINEAR_STEP_M = 0.03
#: Largest change of an arm joint's target per step, rad.
ARM_STEP_RAD = 0.15
#: Largest change of the gripper's target per step, m.
GRIPPER_STEP_M = 0.008
#: Distance the targets keep from each joint limit, rad.
JOINT_MARGIN_RAD = 0.05
#: Gripper opening (per finger, m): open during the lift approach (3 cm of play per side of the
#: 4 cm cube once square to it, so open fingers clear the neighbouring cubes), and closed.
GRIPPER_OPEN_M = 0.03
GRIPPER_CLOSED_M = 0.0
#: Heights of ``ee_site`` above the table, m.
APPROACH_Z_M = 0.12
LIFTED_Z_M = 0.15
#: ``ee_site`` above the cube's top face when reaching: its fingertips then clear the face.
REACH_CLEARANCE_M = 0.01
#: Measured fingertip distance to a phase's goal at which the next phase begins, m.
ARRIVAL_TOLERANCE_M = 0.008
#: Steps the closed gripper is given to squeeze before the lift.
GRASP_STEPS = 4
#: Height above its resting height at which a carried cube is let go, m.
PLACE_CLEARANCE_M = 0.005
#: Steps the released gripper is given to open before the retreat.
RELEASE_STEPS = 2
#: A gripper target this close to closed (open) counts as closed (open), m: the expert's own
#: targets land on the values exactly, a driving policy's within a millimetre or so.
GRIPPER_TOLERANCE_M = 0.001
#: Relabelling (``ScriptedExpert.continue_from``): fingertips this far from the cube's centre
#: while the script carries it mean it is not in the hand, m (``tasks.HOLD_DISTANCE_M``).
LOST_DISTANCE_M = HOLD_DISTANCE_M
#: ... and this far from it sideways during the descent mean the descent missed it (an open
#: finger then lands on the cube), m.
OFF_CENTRE_M = 0.03
#: ... and a cube this far from the pad's centre sideways after the release was not placed, m.
MISPLACED_M = 0.03
_IK_ITERATIONS = 20
_IK_DAMPING = 0.05
_IK_TOLERANCE = 1e-5


class ExpertPhase(enum.Enum):
    """Where the expert is in its script."""

    APPROACH = 'approach'
    DESCEND = 'descend'
    GRASP = 'grasp'
    LIFT = 'lift'
    CARRY = 'carry'
    LOWER = 'lower'
    RELEASE = 'release'
    RETREAT = 'retreat'


class ExpertScene(Protocol):
    """The privileged state the expert reads (``TabletopSim`` provides it)."""

    def joint_positions(self) -> NDArray[np.float64]:
        """(7,) measured joints, the gripper last, rad (gripper m)."""
        ...

    def object_positions(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (3,) centre, world frame, m."""
        ...

    def object_orientations(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (4,) quaternion (w, x, y, z), world frame."""
        ...


def max_steps_for(task: TaskKind) -> int:
    """A step budget in which the expert finishes ``task`` with room to spare."""
    return {TaskKind.REACH: 40, TaskKind.LIFT: 60, TaskKind.PLACE: 100}[task]


def _gripper_rotation(yaw_rad: float) -> NDArray[np.float64]:
    """World rotation of ``ee_site`` pointing down with its finger axis at ``yaw_rad``."""
    z_axis = np.array([0.0, 0.0, -1.0])
    y_axis = np.array([-np.sin(yaw_rad), np.cos(yaw_rad), 0.0])
    return np.column_stack([np.cross(y_axis, z_axis), y_axis, z_axis])


def _square_yaw(cube_position: NDArray[np.float64], cube_quaternion: NDArray[np.float64]
                ) -> float:
    """Finger-axis yaw square to the cube's faces, the one nearest the arm's heading."""
    w, x, y, z = cube_quaternion
    cube_yaw_rad = float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
    heading_rad = float(np.arctan2(cube_position[1], cube_position[0]))
    quarter = np.pi / 2
    return cube_yaw_rad + quarter * round((heading_rad - cube_yaw_rad) / quarter)


class _Kinematics:
    """Forward kinematics and the ``ee_site`` Jacobian on a private copy of the scene."""

    def __init__(self, mjcf_path: Path) -> None:
        try:
            self._model = mujoco.MjModel.from_xml_path(str(mjcf_path))
        except ValueError as err:
            raise ConfigError(f'sim.mjcf {str(mjcf_path)!r}: cannot load: {err}') from err
        self._data = mujoco.MjData(self._model)
        joints = [self._model.joint(name) for name in ARM_JOINT_NAMES]
        self._qpos_index = np.array([int(j.qposadr[0]) for j in joints])
        self._dof_index = np.array([int(j.dofadr[0]) for j in joints])
        ranges = self._model.jnt_range[[j.id for j in joints]]
        self.lower = np.array(ranges[:, 0]) + JOINT_MARGIN_RAD
        self.upper = np.array(ranges[:, 1]) - JOINT_MARGIN_RAD
        self._site_id = self._model.site('ee_site').id
        self._jacp = np.zeros((3, self._model.nv))
        self._jacr = np.zeros((3, self._model.nv))

    def pose(self, arm_positions: NDArray[np.float64]
             ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(position (3,), rotation (3, 3)) of ``ee_site`` at ``arm_positions`` (6,)."""
        self._data.qpos[self._qpos_index] = arm_positions
        mujoco.mj_kinematics(self._model, self._data)
        return (self._data.site_xpos[self._site_id].copy(),
                self._data.site_xmat[self._site_id].reshape(3, 3).copy())

    def solve(self, start: NDArray[np.float64], position: NDArray[np.float64],
              rotation: NDArray[np.float64]) -> NDArray[np.float64]:
        """Arm joints (6,) near ``start`` that put ``ee_site`` at the pose (damped LS)."""
        arm = start.copy()
        for _ in range(_IK_ITERATIONS):
            current_position, current_rotation = self.pose(arm)
            error = np.concatenate([
                position - current_position,
                0.5 * np.cross(current_rotation.T, rotation.T).sum(axis=0)])
            if float(error @ error) < _IK_TOLERANCE ** 2:
                break
            mujoco.mj_comPos(self._model, self._data)
            mujoco.mj_jacSite(self._model, self._data, self._jacp, self._jacr, self._site_id)
            jacobian = np.vstack([self._jacp[:, self._dof_index], self._jacr[:, self._dof_index]])
            damped = jacobian @ jacobian.T + _IK_DAMPING ** 2 * np.eye(6)
            arm = np.clip(arm + jacobian.T @ np.linalg.solve(damped, error),
                          self.lower, self.upper)
        return arm


class ScriptedExpert:
    """Solves one episode of a tabletop task; make a new one per episode.

    Args:
        mjcf_path: the scene file the sim runs (its kinematics are what the expert inverts).
        episode: the task and the cube it is about.

    Raises:
        ConfigError: the scene file cannot be loaded.
    """

    def __init__(self, mjcf_path: Path, episode: Episode) -> None:
        self._kinematics = _Kinematics(mjcf_path)
        self._episode = episode
        self._phase = ExpertPhase.APPROACH
        self._command: NDArray[np.float64] | None = None
        self._grasp_position: NDArray[np.float64] | None = None
        self._carry_offset: NDArray[np.float64] | None = None
        self._yaw_rad = 0.0
        self._closed_steps = 0
        self._released_steps = 0
        self._relabelling = False

    @property
    def phase(self) -> ExpertPhase:
        """The current phase of the script."""
        return self._phase

    def continue_from(self, targets: NDArray[np.float64]) -> None:
        """Take ``targets`` (7,) as the ones last sent, in place of the expert's own.

        For relabelling (DAgger): something else (a policy) drove the arm this step. The next
        ``act`` steps on from what was really commanded, and from then on the script also
        follows what the driver did to the cube: a cube that is not in the hand while the
        script carries it, or a descent that came down beside it, sends the script back to
        the approach (gripper opening); a cube the driver grasped and lifted by itself moves
        it on to the lift; a release that left the cube off the pad goes back to the approach.

        Raises:
            ConfigError: ``targets`` not of shape (7,).
        """
        targets = np.asarray(targets, dtype=np.float64)
        if targets.shape != (7,):
            raise ConfigError(f'ScriptedExpert.continue_from: targets {targets.shape!r}, '
                              'expected (7,)')
        self._command = targets.copy()
        self._relabelling = True

    def _follow_driver(self, fingertips: NDArray[np.float64], cube_position: NDArray[np.float64],
                       target_position: NDArray[np.float64]) -> None:
        """Put the script in the phase the scene shows (``continue_from``)."""
        if self._episode.task is TaskKind.REACH:
            return
        to_cube = cube_position - fingertips
        in_hand = bool(np.linalg.norm(to_cube) < LOST_DISTANCE_M)
        lifted = bool(cube_position[2] - CUBE_REST_Z_M > GRASP_HEIGHT_M)
        phase = self._phase
        restart = (
            (phase in (ExpertPhase.LIFT, ExpertPhase.CARRY, ExpertPhase.LOWER) and not in_hand)
            or (phase is ExpertPhase.DESCEND
                and bool(np.linalg.norm(to_cube[:2]) > OFF_CENTRE_M))
            or (phase in (ExpertPhase.RELEASE, ExpertPhase.RETREAT)
                and bool(np.linalg.norm(cube_position[:2] - target_position[:2])
                         > MISPLACED_M)))
        if restart:
            self._phase = ExpertPhase.APPROACH
            self._grasp_position = self._carry_offset = None
            self._closed_steps = self._released_steps = 0
        elif phase in (ExpertPhase.APPROACH, ExpertPhase.DESCEND, ExpertPhase.GRASP) \
                and in_hand and lifted:
            self._grasp_position = np.array([*fingertips[:2], CUBE_REST_Z_M])
            self._closed_steps = GRASP_STEPS
            self._phase = ExpertPhase.LIFT

    def act(self, scene: ExpertScene) -> NDArray[np.float64]:
        """Joint targets (7,) for the end of the next step, the gripper last, rad (gripper m).

        Raises:
            ConfigError: a ``place`` episode in a scene without the target pad.
        """
        measured = scene.joint_positions()
        command = measured.copy() if self._command is None else self._command
        positions = scene.object_positions()
        cube_position = positions[self._episode.cube_name]
        if self._episode.task is TaskKind.PLACE and TARGET_NAME not in positions:
            raise ConfigError(f'place expert: the scene has no {TARGET_NAME!r} among its '
                              f'objects {sorted(positions)!r}')
        target_position = positions.get(TARGET_NAME, cube_position)  # read by place only
        if self._phase in (ExpertPhase.APPROACH, ExpertPhase.DESCEND):
            self._yaw_rad = _square_yaw(
                cube_position, scene.object_orientations()[self._episode.cube_name])
        measured_position, _ = self._kinematics.pose(measured[:6])
        if self._relabelling:
            self._follow_driver(measured_position, cube_position, target_position)
        self._advance(measured_position, cube_position, target_position)
        goal = self._goal(cube_position, target_position)
        commanded_position, _ = self._kinematics.pose(command[:6])
        offset = goal - commanded_position
        distance_m = float(np.linalg.norm(offset))
        if distance_m > LINEAR_STEP_M:
            offset *= LINEAR_STEP_M / distance_m
        arm = self._kinematics.solve(command[:6], commanded_position + offset,
                                     _gripper_rotation(self._yaw_rad))
        arm = command[:6] + np.clip(arm - command[:6], -ARM_STEP_RAD, ARM_STEP_RAD)
        gripper = command[6] + np.clip(self._gripper_goal() - command[6],
                                       -GRIPPER_STEP_M, GRIPPER_STEP_M)
        self._command = np.append(arm, gripper)
        return self._command.copy()

    def _goal(self, cube_position: NDArray[np.float64], target_position: NDArray[np.float64]
              ) -> NDArray[np.float64]:
        """Where the phase takes ``ee_site``, world, m."""
        x_m, y_m, z_m = cube_position
        if self._phase is ExpertPhase.APPROACH:
            return np.array([x_m, y_m, APPROACH_Z_M])
        if self._episode.task is TaskKind.REACH:
            return np.array([x_m, y_m, z_m + CUBE_REST_Z_M + REACH_CLEARANCE_M])
        if self._phase is ExpertPhase.DESCEND:
            return np.array([x_m, y_m, z_m])
        assert self._grasp_position is not None  # set on entering GRASP
        if self._phase is ExpertPhase.GRASP:
            return self._grasp_position
        if self._phase is ExpertPhase.LIFT:
            return np.array([*self._grasp_position[:2], LIFTED_Z_M])
        assert self._carry_offset is not None  # set on entering CARRY
        over_target = target_position[:2] - self._carry_offset
        if self._phase is ExpertPhase.CARRY:
            return np.array([*over_target, LIFTED_Z_M])
        if self._phase is ExpertPhase.RETREAT:
            return np.array([*over_target, APPROACH_Z_M])
        return np.array([*over_target, self._grasp_position[2] + PLACE_CLEARANCE_M])

    def _gripper_goal(self) -> float:
        if self._episode.task is TaskKind.REACH:
            return GRIPPER_OPEN_M
        return GRIPPER_CLOSED_M if self._phase in (
            ExpertPhase.GRASP, ExpertPhase.LIFT, ExpertPhase.CARRY, ExpertPhase.LOWER) \
            else GRIPPER_OPEN_M

    def _advance(self, measured_position: NDArray[np.float64],
                 cube_position: NDArray[np.float64],
                 target_position: NDArray[np.float64]) -> None:
        """Move to the next phase once the measured fingertips reached this one's goal."""
        arrived = bool(np.linalg.norm(self._goal(cube_position, target_position)
                                      - measured_position) < ARRIVAL_TOLERANCE_M)
        phase, place = self._phase, self._episode.task is TaskKind.PLACE
        if phase is ExpertPhase.APPROACH and arrived:
            self._phase = ExpertPhase.DESCEND
        elif phase is ExpertPhase.DESCEND and arrived and self._episode.task is not TaskKind.REACH:
            self._grasp_position = self._goal(cube_position, target_position)
            self._phase = ExpertPhase.GRASP
        elif phase is ExpertPhase.GRASP:
            closed = self._command is not None \
                and self._command[6] <= GRIPPER_CLOSED_M + GRIPPER_TOLERANCE_M
            self._closed_steps += int(closed)
            if self._closed_steps >= GRASP_STEPS:
                self._phase = ExpertPhase.LIFT
        elif phase is ExpertPhase.LIFT and arrived and place:
            self._carry_offset = cube_position[:2] - measured_position[:2]
            self._phase = ExpertPhase.CARRY
        elif phase in (ExpertPhase.CARRY, ExpertPhase.LOWER) and arrived:
            self._phase = ExpertPhase.LOWER if phase is ExpertPhase.CARRY \
                else ExpertPhase.RELEASE
        elif phase is ExpertPhase.RELEASE:
            opened = self._command is not None \
                and self._command[6] >= GRIPPER_OPEN_M - GRIPPER_TOLERANCE_M
            self._released_steps += int(opened)
            if self._released_steps >= RELEASE_STEPS:
                self._phase = ExpertPhase.RETREAT


@dataclass(frozen=True, slots=True)
class RolloutResult:
    """How an in-process expert episode went.

    Attributes:
        success: whether the task's predicate held at some step boundary.
        steps: policy steps taken.
        time_to_success_s: simulated time from the start to the first success, or None.
    """

    success: bool
    steps: int
    time_to_success_s: float | None


def driven_targets(expert: str, command: NDArray[np.float64] | None,
                   targets: NDArray[np.float64]) -> NDArray[np.float64]:
    """A copy of ``targets``, checked against ``command``: what ``expert.continue_from`` takes.

    For relabelling (DAgger) by the G1 and ALOHA experts: ``command`` is the expert's last
    targets, None before its first ``act``.

    Raises:
        RuntimeError: ``command`` is None (there is no episode to continue yet).
        ConfigError: ``targets`` of another shape than ``command``.
    """
    if command is None:
        raise RuntimeError(f'{expert}.continue_from: call act first')
    checked = np.array(targets, dtype=np.float64)
    if checked.shape != command.shape:
        raise ConfigError(f'{expert}.continue_from: targets {checked.shape!r}, expected '
                          f'{command.shape!r}')
    return checked


def follow_one_step(sim: MujocoSim, follower: TrajectoryFollower, action: NDArray[np.float64],
                    *, substeps: int) -> None:
    """Hand ``action`` to ``follower`` and run ``sim`` through one policy step.

    The action is a one-point trajectory due one step later; the servo targets are resampled
    ``substeps`` times: what the sim node does with the same trajectory arriving over ROS.
    """
    follower.accept(JointTrajectoryCommand(sim.joint_names, np.array([POLICY_DT_S]),
                                           action[np.newaxis, :]), now_s=sim.time_s)
    for _ in range(substeps):
        sim.set_position_targets(follower.sample(sim.time_s))
        sim.step(POLICY_DT_S / substeps)


#: Called once per step before the action is applied: (scene, measured (7,), action (7,)).
StepRecorder = Callable[[MujocoSim, NDArray[np.float64], NDArray[np.float64]], None]


def run_expert_episode(sim: MujocoSim, expert: ScriptedExpert, episode: Episode, *,
                       max_steps: int, steps_after_success: int = 3,
                       control_period_s: float = 0.02,
                       on_step: StepRecorder | None = None,
                       reset: bool = True,
                       drive: Callable[[NDArray[np.float64]], NDArray[np.float64]]
                       | None = None) -> RolloutResult:
    """Reset ``sim`` to the episode and run the expert until success or ``max_steps``.

    Each target is handed to a ``TrajectoryFollower`` as a one-point trajectory due one step
    later, and the servo targets are resampled every ``control_period_s``: what the sim node
    does with the same trajectory arriving over ROS.

    Args:
        sim: the scene; reset with ``episode.seed``.
        expert: a fresh expert for ``episode``.
        episode: the task, cube and seed.
        max_steps: step budget.
        steps_after_success: steps run after the first success (the arm then holds still).
        control_period_s: how often the servo targets follow the trajectory, seconds.
        on_step: sees each observation's state and the action taken from it.
        reset: False: run from the scene as it is (after ``missed_grasp.run_missed_grasp``).
        drive: maps the expert's targets to the ones executed (a policy driving the arm);
            the expert then continues from those (``ScriptedExpert.continue_from``) and only
            labels the states the driver visits (DAgger); ``on_step`` still sees its labels.
    """
    if reset:
        sim.reset(episode.seed)
    follower = TrajectoryFollower(sim.joint_names, sim.joint_positions())
    first_success_step: int | None = None
    substeps = max(1, round(POLICY_DT_S / control_period_s))
    step = 0
    while step < max_steps:
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
    time_to_success_s = None if first_success_step is None else first_success_step * POLICY_DT_S
    return RolloutResult(success=first_success_step is not None, steps=step,
                         time_to_success_s=time_to_success_s)

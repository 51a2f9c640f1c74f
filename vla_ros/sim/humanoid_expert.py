# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A scripted expert for the humanoid's hand reach, and an in-process rollout that runs it.

``HandReachExpert`` reads privileged state (the measured joints, the cube's pose) and returns,
once per policy step (``POLICY_DT_S`` = 0.1 s), position targets for every simulated joint for
the end of that step: the named hand's arm and the waist move, every other joint keeps the
target it had when the episode started (the other arm and the hands hold; a held controller's
joints are dropped when the targets are split by controller).

It moves the hand's frame (on the G1 the middle of the palm's underside, behind the fingers)
along straight segments: to ``APPROACH_HEIGHT_M`` above the cube's top face, then straight down
to ``CLEARANCE_M`` above it, and holds there. The palm is kept level (its frame's z axis up) and
turned square to the cube's faces, so the fingers that hang below the palm's front pass beside
the cube, not into it. Each step moves the commanded point at most ``LINEAR_STEP_M`` and solves
for the arm's and the waist's joints by damped least squares on MuJoCo's site Jacobian
(``mj_jacSite``, position and orientation) on a kinematic copy of the scene; the waist's
columns are weighted down (``WAIST_WEIGHT``) so that it turns only where the arm alone falls
short (reaching across the body). Targets keep ``JOINT_MARGIN_RAD`` inside the limits and change
by at most ``ARM_STEP_RAD`` per step. The descent begins once the measured frame is at the
approach point, so the expert closes the loop on what the robot really did. Which joints form
the arm and the waist, and which frame is the hand, are arguments: nothing here names a robot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TYPE_CHECKING

import mujoco
import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.sim.expert import driven_targets, follow_one_step
from vla_ros.sim.humanoid_tasks import Hand, HandReachEpisode
from vla_ros.sim.trajectory_follower import TrajectoryFollower

if TYPE_CHECKING:
    from vla_ros.core.sim_config import SimConfig
    from vla_ros.sim.mujoco_sim import MujocoSim

__all__ = ['APPROACH_HEIGHT_M', 'CLEARANCE_M', 'HandReachExpert', 'HandReachRollout',
           'HandReachStepRecorder',
           'HumanoidScene', 'POLICY_DT_S', 'hand_reach_expert', 'run_hand_reach_episode']

#: Time between the expert's targets, as between a policy's chunk rows, seconds.
POLICY_DT_S = 0.1
#: Height of the hand frame above the cube's top face at the approach point, m.
APPROACH_HEIGHT_M = 0.07
#: Height of the hand frame above the cube's top face at the end of the reach, m.
CLEARANCE_M = 0.008
#: Largest move of the commanded hand point per step, m (0.3 m/s).
LINEAR_STEP_M = 0.03
#: Largest change of a joint's target per step, rad (1.5 rad/s).
ARM_STEP_RAD = 0.15
#: Distance the targets keep from each joint limit, rad.
JOINT_MARGIN_RAD = 0.05
#: Measured distance to the approach point at which the descent begins: horizontal, vertical,
#: m (the hand must be over the cube; a few cm too high only makes the descent longer).
ARRIVAL_TOLERANCE_M = 0.01
ARRIVAL_HEIGHT_TOLERANCE_M = 0.03
#: How far the other hand rises above where it started, m, and stays while the waist turns.
IDLE_LIFT_M = 0.08
#: Weight of the frame's orientation error (rad) against its position error (m).
ORIENTATION_WEIGHT = 0.1
#: Scale of the waist's Jacobian columns: the smaller, the less the waist turns.
WAIST_WEIGHT = 0.3
_IK_ITERATIONS = 30
_IK_DAMPING = 0.02
_IK_TOLERANCE = 1e-5


class HumanoidScene(Protocol):
    """The privileged state the expert reads (``MujocoSim`` provides it)."""

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The joints ``joint_positions`` reports, in order."""
        ...

    def joint_positions(self) -> NDArray[np.float64]:
        """(J,) measured joints, rad."""
        ...

    def position_targets(self) -> NDArray[np.float64]:
        """(J,) servo targets in force, rad."""
        ...

    def object_positions(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (3,) centre, world frame, m."""
        ...

    def object_orientations(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (4,) quaternion (w, x, y, z), world frame."""
        ...

    def frame_position(self, frame: str) -> NDArray[np.float64]:
        """(3,) position of a named frame, world frame, m."""
        ...


def _square_rotation(cube_quaternion: NDArray[np.float64], heading_rad: float
                     ) -> NDArray[np.float64]:
    """A level frame (z up) whose x axis is square to the cube's faces, nearest ``heading``."""
    w, x, y, z = cube_quaternion
    cube_yaw_rad = float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
    quarter = np.pi / 2
    yaw_rad = cube_yaw_rad + quarter * round((heading_rad - cube_yaw_rad) / quarter)
    cos, sin = np.cos(yaw_rad), np.sin(yaw_rad)
    return np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])


class _Chain:
    """Joints solved together for one frame: their addresses, limits and column weights."""

    def __init__(self, model: mujoco.MjModel, mjcf_joints: list[str],
                 weights: list[float]) -> None:
        joints = [model.joint(name) for name in mjcf_joints]
        self.qpos = np.array([int(joint.qposadr[0]) for joint in joints])
        self.dofs = np.array([int(joint.dofadr[0]) for joint in joints])
        self.weights = np.array(weights)
        ranges = np.array([joint.range for joint in joints])
        self.lower = ranges[:, 0] + JOINT_MARGIN_RAD
        self.upper = ranges[:, 1] - JOINT_MARGIN_RAD


class HandReachExpert:
    """Reaches one cube with one hand (see the module docstring); one per episode.

    Args:
        sim: the scene's config (MJCF file, joint bindings, frames).
        episode: which cube, which hand.
        arm_joints: the embodiment joints that move the named hand (its arm controller's).
        waist_joints: joints that turn or lean the torso, solved for with the arm (weighted
            down by ``WAIST_WEIGHT``); may be empty.
        idle_arm_joints: the other arm's joints: they lift the other hand ``IDLE_LIFT_M`` and
            keep it there in the world while the waist turns (else it would sweep the table);
            may be empty (that arm then keeps its targets).
        idle_frame: the other hand's frame in ``sim.frames`` (with ``idle_arm_joints``).

    Raises:
        ConfigError: a joint or frame that the sim config does not bind, or a scene file that
            cannot be loaded.
    """

    def __init__(self, sim: SimConfig, episode: HandReachEpisode, *,
                 arm_joints: tuple[str, ...], waist_joints: tuple[str, ...] = (),
                 idle_arm_joints: tuple[str, ...] = (), idle_frame: str | None = None) -> None:
        bindings = {joint.name: joint.mjcf_joint for joint in sim.joints}
        unknown = [joint for joint in arm_joints + waist_joints + idle_arm_joints
                   if joint not in bindings]
        frames = [episode.hand.frame] + ([str(idle_frame)] if idle_arm_joints else [])
        if unknown or not set(frames) <= set(sim.frames):
            raise ConfigError(f'hand reach: joints {unknown!r} or frames {frames!r} not in the '
                              f'sim config (frames {sorted(sim.frames)!r})')
        try:
            self._model = mujoco.MjModel.from_xml_path(str(sim.mjcf))
        except ValueError as err:
            raise ConfigError(f'sim.mjcf {str(sim.mjcf)!r}: cannot load: {err}') from err
        self._data = mujoco.MjData(self._model)
        self._episode = episode
        self._sites = [self._model.site(sim.frames[frame]).id for frame in frames]
        self._qpos_of = [int(self._model.joint(joint.mjcf_joint).qposadr[0])
                         for joint in sim.joints]
        order = {joint.name: i for i, joint in enumerate(sim.joints)}
        self._reach_index = np.array([order[name] for name in arm_joints + waist_joints])
        self._idle_index = np.array([order[name] for name in idle_arm_joints], dtype=np.intp)
        self._reach = _Chain(self._model, [bindings[n] for n in arm_joints + waist_joints],
                             [1.0] * len(arm_joints) + [WAIST_WEIGHT] * len(waist_joints))
        self._idle = _Chain(self._model, [bindings[n] for n in idle_arm_joints],
                            [1.0] * len(idle_arm_joints)) if idle_arm_joints else None
        self._jacp = np.zeros((3, self._model.nv))
        self._jacr = np.zeros((3, self._model.nv))
        self._descending = False
        self._command: NDArray[np.float64] | None = None
        self._point: NDArray[np.float64] | None = None
        self._top: NDArray[np.float64] | None = None
        self._rotation: NDArray[np.float64] | None = None
        self._idle_point: NDArray[np.float64] | None = None

    @property
    def descending(self) -> bool:
        """Whether the hand has reached the approach point and is going down."""
        return self._descending

    def act(self, scene: HumanoidScene) -> NDArray[np.float64]:
        """Targets (J,) of ``scene.joint_names`` for the end of the next policy step, rad.

        ``scene.joint_names`` must be the sim config's joints, in its order.
        """
        measured = scene.joint_positions()
        if self._command is None:  # hold every joint where its servo was told to be
            self._start(scene)
        assert self._command is not None and self._top is not None
        hand_now = self._frame_pose(measured, 0)[0]
        approach = self._top + np.array([0.0, 0.0, APPROACH_HEIGHT_M])
        if not self._descending:
            offset = hand_now - approach
            self._descending = bool(np.linalg.norm(offset[:2]) < ARRIVAL_TOLERANCE_M
                                    and abs(offset[2]) < ARRIVAL_HEIGHT_TOLERANCE_M)
        goal = self._top + np.array([0.0, 0.0, CLEARANCE_M]) if self._descending else approach
        start = hand_now if self._point is None else self._point
        offset = goal - start
        distance_m = float(np.linalg.norm(offset))
        self._point = goal if distance_m <= LINEAR_STEP_M \
            else start + offset * LINEAR_STEP_M / distance_m
        command = self._command.copy()
        self._load(command)
        self._solve(self._reach, 0, self._point, self._rotation)
        if self._idle is not None:
            self._solve(self._idle, 1, self._idle_point, None)
        for index in (self._reach_index, self._idle_index):
            solved = np.array([self._data.qpos[self._qpos_of[i]] for i in index])
            command[index] = command[index] + np.clip(solved - command[index],
                                                      -ARM_STEP_RAD, ARM_STEP_RAD)
        self._command = command
        return command.copy()

    def continue_from(self, targets: NDArray[np.float64]) -> None:
        """Take ``targets`` (J, the sim config's joints) as the ones last sent to the servos.

        For relabelling (DAgger): when something else drove the robot this step, the next
        ``act`` starts from what was really commanded instead of the expert's own targets, so
        each label is one step (at most ``ARM_STEP_RAD`` per joint) the servos can follow from
        where the robot is, towards the expert's point on its path.

        Raises:
            RuntimeError: before the first ``act`` (there is no episode to continue yet).
        """
        self._command = driven_targets('HandReachExpert', self._command, targets)

    def _start(self, scene: HumanoidScene) -> None:
        """Fix the goals at the episode's start: cube top, hand yaw, the other hand's spot."""
        self._command = scene.position_targets()
        self._top = self._episode.reach_point(scene)
        rotation_now = self._frame_pose(self._command, 0)[1]
        self._rotation = _square_rotation(
            scene.object_orientations()[self._episode.cube_name],
            float(np.arctan2(rotation_now[1, 0], rotation_now[0, 0])))
        if self._idle is not None:
            self._idle_point = self._frame_pose(self._command, 1)[0] + np.array(
                [0.0, 0.0, IDLE_LIFT_M])

    def _load(self, positions: NDArray[np.float64]) -> None:
        """Put ``positions`` (J, in the sim config's joint order) on the kinematic copy."""
        self._data.qpos[self._qpos_of] = positions
        self._forward()

    def _forward(self) -> None:
        mujoco.mj_kinematics(self._model, self._data)
        mujoco.mj_comPos(self._model, self._data)  # the Jacobian reads cdof and subtree_com

    def _frame_pose(self, positions: NDArray[np.float64], which: int
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(position (3,), rotation (3, 3)) of frame ``which`` (0 hand, 1 other) at J joints."""
        self._load(positions)
        site = self._sites[which]
        return (self._data.site_xpos[site].copy(),
                self._data.site_xmat[site].reshape(3, 3).copy())

    def _solve(self, chain: _Chain, which: int, point: NDArray[np.float64] | None,
               rotation: NDArray[np.float64] | None) -> None:
        """Move ``chain`` on the kinematic copy until frame ``which`` is at the pose (DLS).

        ``rotation`` None solves for the position only.
        """
        assert point is not None
        site = self._sites[which]
        rows = 3 if rotation is None else 6
        for _ in range(_IK_ITERATIONS):
            error = point - self._data.site_xpos[site]
            if rotation is not None:
                current = self._data.site_xmat[site].reshape(3, 3)
                error = np.concatenate([error, ORIENTATION_WEIGHT * 0.5 * np.cross(
                    current.T, rotation.T).sum(axis=0)])
            if float(error @ error) < _IK_TOLERANCE ** 2:
                break
            mujoco.mj_jacSite(self._model, self._data, self._jacp, self._jacr, site)
            jacobian = np.vstack([self._jacp[:, chain.dofs],
                                  ORIENTATION_WEIGHT * self._jacr[:, chain.dofs]])[:rows]
            jacobian = jacobian * chain.weights
            step = jacobian.T @ np.linalg.solve(
                jacobian @ jacobian.T + _IK_DAMPING ** 2 * np.eye(rows), error)
            self._data.qpos[chain.qpos] = np.clip(
                self._data.qpos[chain.qpos] + chain.weights * step, chain.lower, chain.upper)
            self._forward()


def hand_reach_expert(sim: SimConfig, controllers: Mapping[str, tuple[str, ...]],
                      episode: HandReachEpisode) -> HandReachExpert:
    """The expert for ``episode`` with the embodiment's controllers by the humanoid convention.

    The named hand's arm is ``<side>_arm_controller``'s joints, the waist
    ``waist_controller``'s (absent: the arm alone) and the other arm the other side's, as
    ``config/g1.yaml`` names them.

    Raises:
        ConfigError: no ``<side>_arm_controller`` in ``controllers``.
    """
    other = next(hand for hand in Hand if hand is not episode.hand)
    arm, idle = f'{episode.hand.value}_arm_controller', f'{other.value}_arm_controller'
    if arm not in controllers:
        raise ConfigError(f'hand reach: embodiment.controllers has no {arm!r} '
                          f'(it has {sorted(controllers)!r})')
    return HandReachExpert(sim, episode, arm_joints=tuple(controllers[arm]),
                           waist_joints=tuple(controllers.get('waist_controller', ())),
                           idle_arm_joints=tuple(controllers.get(idle, ())),
                           idle_frame=other.frame)


#: Called once per step with the scene, the measured joints (J,) and the expert's targets (J,).
HandReachStepRecorder = Callable[['MujocoSim', NDArray[np.float64], NDArray[np.float64]], None]


@dataclass(frozen=True, slots=True)
class HandReachRollout:
    """How an in-process expert episode went.

    Attributes:
        success: whether the hand reached the cube at some step boundary.
        steps: policy steps taken.
        time_to_success_s: simulated time from the start to the first success, or None.
        final_distance_m: the hand frame's distance to the reach point at the end, m.
    """

    success: bool
    steps: int
    time_to_success_s: float | None
    final_distance_m: float


def run_hand_reach_episode(sim: MujocoSim, expert: HandReachExpert, episode: HandReachEpisode,
                           *, max_steps: int = 50, steps_after_success: int = 3,
                           control_period_s: float = 0.02,
                           on_step: HandReachStepRecorder | None = None,
                           perturb: Callable[[NDArray[np.float64]], NDArray[np.float64]]
                           | None = None,
                           drive: Callable[[NDArray[np.float64]], NDArray[np.float64]]
                           | None = None) -> HandReachRollout:
    """Reset ``sim`` to the episode and run the expert until success or ``max_steps``.

    Each target is handed to a ``TrajectoryFollower`` as a one-point trajectory due one step
    later, and the servo targets are resampled every ``control_period_s``: what the sim node
    does with the same trajectory arriving over ROS. ``on_step`` (if given) sees each step's
    measured joints and the expert's targets before the sim runs towards them. ``perturb``
    (if given) maps the expert's targets to the ones executed, so the robot drifts off the
    expert's path and the expert, closed-loop, steers it back (DART-style noise injection):
    ``on_step`` still sees the expert's own targets, the labels a policy learns. ``drive``
    (if given, instead of ``perturb``) maps them to a policy's targets, and the expert then
    continues from those (``HandReachExpert.continue_from``): it only labels the states the
    policy visits (DAgger), as ``expert.run_expert_episode`` does on the tabletop.

    Raises:
        ConfigError: both ``perturb`` and ``drive``.
    """
    if perturb is not None and drive is not None:
        raise ConfigError('run_hand_reach_episode: perturb or drive, not both')
    sim.reset(episode.seed)
    follower = TrajectoryFollower(sim.joint_names, sim.position_targets())
    substeps = max(1, round(POLICY_DT_S / control_period_s))
    first_success_step: int | None = None
    step = 0
    while step < max_steps:
        action = expert.act(sim)
        if on_step is not None:
            on_step(sim, sim.joint_positions(), action)
        if perturb is not None:
            action = perturb(action)
        if drive is not None:
            action = drive(action)
            expert.continue_from(action)
        follow_one_step(sim, follower, action, substeps=substeps)
        step += 1
        if first_success_step is None and episode.is_success(sim):
            first_success_step = step
        if first_success_step is not None and step >= first_success_step + steps_after_success:
            break
    return HandReachRollout(
        success=first_success_step is not None, steps=step,
        time_to_success_s=None if first_success_step is None
        else first_success_step * POLICY_DT_S,
        final_distance_m=episode.distance_m(sim))

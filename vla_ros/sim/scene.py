# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The tabletop arm simulated in MuJoCo: position servos, three cubes, two cameras.

``TabletopSim`` wraps one ``MjModel``/``MjData`` pair loaded from ``urdf/tabletop_scene.xml``
and exposes what a ROS node needs: joint state, position targets, stepping, camera images and
the ground truth (cube and end-effector positions) that an evaluation needs.

The GL backend is picked when ``mujoco`` is first imported, from ``MUJOCO_GL``. We default it to
``osmesa`` (software rendering), the one backend that works on any headless machine (no display
for ``glfw``, no GPU driver for ``egl``); set ``MUJOCO_GL=egl`` before starting to render on a
GPU. The default is only a default: a value already in the environment wins.

A ``TabletopSim`` is not thread-safe. Step and read it from one thread, or guard it with one
lock; render it from one thread only, because each renderer owns a GL context that is made
current on the calling thread.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError, InputError

os.environ.setdefault('MUJOCO_GL', 'osmesa')

import mujoco

__all__ = ['ARM_JOINT_NAMES', 'CUBE_NAMES', 'GRIPPER_JOINT_NAME', 'TabletopSim']

ARM_JOINT_NAMES = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
GRIPPER_JOINT_NAME = 'gripper_joint'
CUBE_NAMES = ('red_cube', 'green_cube', 'blue_cube')

_HOME_KEY = 'home'
_EE_SITE = 'ee_site'
_CUBE_HALF_SIZE_M = 0.02
# Where reset scatters the cubes: a patch of table in front of the base that the gripper reaches
# from above without stretching (the arm reaches ~0.5 m at table height).
_CUBE_X_RANGE_M = (0.25, 0.42)
_CUBE_Y_RANGE_M = (-0.16, 0.16)
_CUBE_MIN_GAP_M = 0.08  # centre to centre; leaves room for an open gripper between two cubes
_MAX_PLACEMENT_TRIES = 1000


class TabletopSim:
    """The tabletop scene: a 6-joint arm with a gripper, and three cubes on a table.

    Args:
        mjcf_path: the scene file, usually ``urdf/tabletop_scene.xml``.
        seed: seeds the cube placement; the constructor resets with it.

    Raises:
        ConfigError: the file cannot be loaded, or lacks a joint, actuator, cube (a body
            ``<cube>`` with a free joint ``<cube>_joint``), the ``home`` keyframe or ``ee_site``.
    """

    def __init__(self, mjcf_path: Path, *, seed: int = 0) -> None:
        try:
            self._model = mujoco.MjModel.from_xml_path(str(mjcf_path))
        except ValueError as err:
            raise ConfigError(f'sim.mjcf {str(mjcf_path)!r}: cannot load: {err}') from err
        self._data = mujoco.MjData(self._model)
        self._joint_names = (*ARM_JOINT_NAMES, GRIPPER_JOINT_NAME)
        try:
            joints = [self._model.joint(name) for name in self._joint_names]
            actuators = [self._model.actuator(name) for name in self._joint_names]
            cubes = {name: self._model.joint(f'{name}_joint') for name in CUBE_NAMES}
            self._home_key_id = self._model.key(_HOME_KEY).id
            self._ee_site_id = self._model.site(_EE_SITE).id
        except KeyError as err:
            raise ConfigError(f'sim.mjcf {str(mjcf_path)!r}: {err.args[0]}') from err
        self._joint_ids = np.array([j.id for j in joints])
        self._qpos_index = np.array([int(j.qposadr[0]) for j in joints])
        self._qvel_index = np.array([int(j.dofadr[0]) for j in joints])
        self._ctrl_index = np.array([a.id for a in actuators])
        self._cube_qpos_adr = {name: int(cube.qposadr[0]) for name, cube in cubes.items()}
        self._cube_qvel_adr = {name: int(cube.dofadr[0]) for name, cube in cubes.items()}
        self._camera_names = tuple(self._model.camera(i).name for i in range(self._model.ncam))
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self._rng = np.random.default_rng(seed)
        self._requested_time_s = 0.0
        self.reset(seed)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The commanded joints, in the order of every array this class takes or returns."""
        return self._joint_names

    @property
    def time_s(self) -> float:
        """Simulation time since the last reset, seconds."""
        return float(self._data.time)

    @property
    def timestep_s(self) -> float:
        """The physics time step, seconds."""
        return float(self._model.opt.timestep)

    @property
    def camera_names(self) -> tuple[str, ...]:
        """The cameras ``render`` accepts."""
        return self._camera_names

    def reset(self, seed: int | None = None) -> None:
        """Put the arm in the home pose and scatter the cubes on the table.

        Args:
            seed: reseeds the placement; None continues the generator seeded at construction,
                so a run of resets is reproducible too.
        """
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        mujoco.mj_resetDataKeyframe(self._model, self._data, self._home_key_id)
        for name, (x_m, y_m, yaw_rad) in zip(CUBE_NAMES, self._sample_cube_poses(), strict=True):
            adr = self._cube_qpos_adr[name]
            self._data.qpos[adr:adr + 7] = (x_m, y_m, _CUBE_HALF_SIZE_M,
                                            np.cos(yaw_rad / 2), 0.0, 0.0, np.sin(yaw_rad / 2))
            dof = self._cube_qvel_adr[name]
            self._data.qvel[dof:dof + 6] = 0.0
        self._requested_time_s = 0.0
        mujoco.mj_forward(self._model, self._data)

    def _sample_cube_poses(self) -> list[tuple[float, float, float]]:
        """Draw (x, y, yaw) per cube by rejection, keeping centres _CUBE_MIN_GAP_M apart."""
        poses: list[tuple[float, float, float]] = []
        for _ in range(_MAX_PLACEMENT_TRIES):
            x_m = self._rng.uniform(*_CUBE_X_RANGE_M)
            y_m = self._rng.uniform(*_CUBE_Y_RANGE_M)
            yaw_rad = self._rng.uniform(-np.pi / 4, np.pi / 4)
            if all(np.hypot(x_m - px, y_m - py) >= _CUBE_MIN_GAP_M for px, py, _ in poses):
                poses.append((x_m, y_m, yaw_rad))
                if len(poses) == len(CUBE_NAMES):
                    return poses
        raise RuntimeError(f'no room for {len(CUBE_NAMES)} cubes in the placement region')

    def joint_positions(self) -> NDArray[np.float64]:
        """Measured positions of ``joint_names``: (7,) rad, the gripper in m."""
        return np.array(self._data.qpos[self._qpos_index], dtype=np.float64)

    def joint_velocities(self) -> NDArray[np.float64]:
        """Measured velocities of ``joint_names``: (7,) rad/s, the gripper in m/s."""
        return np.array(self._data.qvel[self._qvel_index], dtype=np.float64)

    def joint_limits(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Position limits of ``joint_names`` as (lower, upper), each (7,) rad (gripper m)."""
        ranges = self._model.jnt_range[self._joint_ids]
        lower = np.array(ranges[:, 0], dtype=np.float64)
        return lower, np.array(ranges[:, 1], dtype=np.float64)

    def position_targets(self) -> NDArray[np.float64]:
        """Return the servo targets in force, (7,) in ``joint_names`` order."""
        return np.array(self._data.ctrl[self._ctrl_index], dtype=np.float64)

    def set_position_targets(self, positions: NDArray[np.float64]) -> None:
        """Set the servo targets, clipped to each actuator's control range.

        Args:
            positions: (7,) targets in ``joint_names`` order, rad (gripper m).

        Raises:
            InputError: wrong shape, or a NaN or Inf.
        """
        targets = np.asarray(positions, dtype=np.float64)
        if targets.shape != (len(self._joint_names),) or not np.all(np.isfinite(targets)):
            raise InputError(
                f'position targets: {targets!r}, expected {len(self._joint_names)} finite '
                f'values for {list(self._joint_names)!r}')
        ranges = self._model.actuator_ctrlrange[self._ctrl_index]
        self._data.ctrl[self._ctrl_index] = np.clip(targets, ranges[:, 0], ranges[:, 1])

    def step(self, duration_s: float) -> int:
        """Advance the physics by ``duration_s``, in whole time steps.

        The time left over (less than one step) is carried to the next call, so calling this
        at a fixed rate keeps simulation time in step with the requested time.

        Returns:
            The number of physics steps taken.

        Raises:
            InputError: ``duration_s`` is negative or not finite.
        """
        if not (np.isfinite(duration_s) and duration_s >= 0.0):
            raise InputError(f'step duration_s: {duration_s!r}, expected a finite value >= 0')
        self._requested_time_s += duration_s
        n_steps = int(np.floor((self._requested_time_s - self._data.time) / self.timestep_s
                               + 1e-6))
        if n_steps > 0:
            mujoco.mj_step(self._model, self._data, nstep=n_steps)
            # Recompute positions and contacts for the new state, for readers and the renderer.
            mujoco.mj_forward(self._model, self._data)
        return max(n_steps, 0)

    def object_positions(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (3,) centre position in the world frame (table top z = 0), m."""
        return {name: np.array(self._data.qpos[adr:adr + 3], dtype=np.float64)
                for name, adr in self._cube_qpos_adr.items()}

    def object_orientations(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (4,) orientation quaternion (w, x, y, z) in the world frame."""
        return {name: np.array(self._data.qpos[adr + 3:adr + 7], dtype=np.float64)
                for name, adr in self._cube_qpos_adr.items()}

    def end_effector_position(self) -> NDArray[np.float64]:
        """(3,) position of ``ee_site``, between the fingertip pads, world frame, m."""
        return np.array(self._data.site_xpos[self._ee_site_id], dtype=np.float64)

    def render(self, camera: str, width: int, height: int) -> NDArray[np.uint8]:
        """Render one camera image of the current state.

        One renderer is kept per (width, height) and reused; call from a single thread.

        Args:
            camera: a name from ``camera_names``.
            width: image width, pixels, at most the model's offscreen width (640).
            height: image height, pixels, at most the model's offscreen height (480).

        Returns:
            (height, width, 3) uint8 RGB, row 0 at the top.

        Raises:
            InputError: unknown camera, or a size the offscreen buffer cannot hold.
        """
        if camera not in self.camera_names:
            raise InputError(f'camera {camera!r}: unknown; the scene has {self.camera_names!r}')
        renderer = self._renderers.get((width, height))
        if renderer is None:
            try:
                renderer = mujoco.Renderer(self._model, height=height, width=width)
            except ValueError as err:
                raise InputError(f'camera {camera!r}: cannot render {width}x{height}: {err}') \
                    from err
            self._renderers[(width, height)] = renderer
        renderer.update_scene(self._data, camera=camera)
        return np.array(renderer.render(), dtype=np.uint8)

    def close(self) -> None:
        """Free the renderers (their GL contexts). Idempotent."""
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    def __enter__(self) -> TabletopSim:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

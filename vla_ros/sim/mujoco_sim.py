# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Any position-controlled robot simulated in MuJoCo, bound to its embodiment by name.

``MujocoSim`` wraps one ``MjModel``/``MjData`` pair loaded from ``SimConfig.mjcf`` and exposes
what a ROS node needs: joint state, position targets, stepping, camera images, and the ground
truth an evaluation needs (object poses, named frames). Which MJCF joint, actuator, camera,
free body and site stands for which name comes from the ``sim`` section of the embodiment
config (``vla_ros.core.sim_config``); nothing here names a robot's parts.

The GL backend is picked when ``mujoco`` is first imported, from ``MUJOCO_GL``. We default it to
``osmesa`` (software rendering), the one backend that works on any headless machine (no display
for ``glfw``, no GPU driver for ``egl``); set ``MUJOCO_GL=egl`` before starting to render on a
GPU. The default is only a default: a value already in the environment wins.

A ``MujocoSim`` is not thread-safe. Step and read it from one thread, or guard it with one
lock; render it from one thread only, because each renderer owns a GL context that is made
current on the calling thread.
"""

from __future__ import annotations

from collections.abc import Callable
import os
from typing import Any, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError, InputError

os.environ.setdefault('MUJOCO_GL', 'osmesa')

import mujoco

if TYPE_CHECKING:
    from vla_ros.core.sim_config import SimConfig, SimObject

__all__ = ['END_EFFECTOR_FRAME', 'MujocoSim']

#: The frame the tasks' reach predicate and the demo measure to (``sim.frames``).
END_EFFECTOR_FRAME = 'end_effector'
#: Draws per object before reset gives up finding it a free spot.
_MAX_PLACEMENT_TRIES = 1000


class MujocoSim:
    """A MuJoCo scene whose joints, cameras, objects and frames are named by a ``SimConfig``.

    Args:
        config: the scene file and its bindings (``VlaConfig.sim``).
        seed: seeds the object placement; None takes ``config.seed``. The constructor resets.

    Raises:
        ConfigError: the file cannot be loaded, or lacks a joint, actuator, camera, object
            free joint, site or the home keyframe that ``config`` names (one line, naming the
            config field and the missing MJCF name).
    """

    def __init__(self, config: SimConfig, *, seed: int | None = None) -> None:
        self._config = config
        try:
            self._model = mujoco.MjModel.from_xml_path(str(config.mjcf))
        except ValueError as err:
            reason = ' '.join(str(err).split())  # one line
            raise ConfigError(f'sim.mjcf {str(config.mjcf)!r}: cannot load: {reason}') from err
        self._data = mujoco.MjData(self._model)
        model = self._model
        joints = [self._find(model.joint, 'joint', j.mjcf_joint, f'sim.joints.{j.name}')
                  for j in config.joints]
        actuators = [self._find(model.actuator, 'actuator', j.actuator, f'sim.joints.{j.name}')
                     for j in config.joints]
        for binding, joint, actuator in zip(config.joints, joints, actuators, strict=True):
            if (model.actuator_trntype[actuator.id] != mujoco.mjtTrn.mjTRN_JOINT
                    or model.actuator_trnid[actuator.id, 0] != joint.id):
                raise ConfigError(f'sim.joints.{binding.name}: actuator {binding.actuator!r} '
                                  f'does not drive joint {binding.mjcf_joint!r}')
        self._camera_ids = {c.name: self._find(model.camera, 'camera', c.mjcf_camera,
                                               f'sim.cameras.{c.name}').id
                            for c in config.cameras}
        self._object_qpos_adr: dict[str, int] = {}
        self._object_qvel_adr: dict[str, int] = {}
        for placed in config.objects:
            free = self._find(model.joint, 'free joint', placed.joint,
                              f'sim.objects.{placed.name}')
            if model.jnt_type[free.id] != mujoco.mjtJoint.mjJNT_FREE:
                raise ConfigError(f'sim.objects.{placed.name}: MJCF joint {placed.joint!r} is '
                                  f'not a free joint')
            self._object_qpos_adr[placed.name] = int(free.qposadr[0])
            self._object_qvel_adr[placed.name] = int(free.dofadr[0])
        self._site_ids = {name: self._find(model.site, 'site', site, f'sim.frames.{name}').id
                          for name, site in config.frames.items()}
        self._home_key_id = self._find(model.key, 'keyframe', config.home_keyframe,
                                       'sim.home_keyframe').id
        self._joint_ids = np.array([j.id for j in joints])
        self._qpos_index = np.array([int(j.qposadr[0]) for j in joints])
        self._qvel_index = np.array([int(j.dofadr[0]) for j in joints])
        self._ctrl_index = np.array([a.id for a in actuators])
        self._scene_order = tuple(int(i) for i in np.argsort(self._joint_ids, kind='stable'))
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self._requested_time_s = 0.0
        self._rng = np.random.default_rng(config.seed if seed is None else seed)
        self.reset(config.seed if seed is None else seed)

    def _find(self, lookup: Callable[[str], Any], kind: str, name: str, where: str) -> Any:
        """``lookup(name)``, or a one-line ConfigError naming ``where`` and the MJCF name."""
        try:
            return lookup(name)
        except KeyError as err:
            raise ConfigError(f'{where}: no MJCF {kind} {name!r} in '
                              f'{str(self._config.mjcf)!r}') from err

    @property
    def config(self) -> SimConfig:
        """The scene file and bindings this simulation was built from."""
        return self._config

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The commanded joints, in the order of every array this class takes or returns."""
        return self._config.joint_names

    @property
    def scene_order(self) -> tuple[int, ...]:
        """Indices into ``joint_names`` in the order the MJCF file defines the joints.

        joint_state_broadcaster publishes in its URDF's order, not a config's; the sim node
        publishes in this order so that readers must match joints by name, as on a robot.
        """
        return self._scene_order

    @property
    def camera_names(self) -> tuple[str, ...]:
        """The cameras ``render`` accepts (the embodiment's names)."""
        return tuple(self._camera_ids)

    @property
    def object_names(self) -> tuple[str, ...]:
        """The objects reset places, in placement order."""
        return tuple(self._object_qpos_adr)

    @property
    def frame_names(self) -> tuple[str, ...]:
        """The named frames ``frame_position`` accepts."""
        return tuple(self._site_ids)

    @property
    def time_s(self) -> float:
        """Simulation time since the last reset, seconds."""
        return float(self._data.time)

    @property
    def timestep_s(self) -> float:
        """The physics time step, seconds."""
        return float(self._model.opt.timestep)

    def reset(self, seed: int | None = None) -> None:
        """Load the home keyframe and scatter the objects (``sim.objects``) on the table.

        Args:
            seed: reseeds the placement; None continues the generator seeded at construction,
                so a run of resets is reproducible too.

        Raises:
            ConfigError: an object found no spot ``min_gap_m`` from those placed before it.
        """
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        mujoco.mj_resetDataKeyframe(self._model, self._data, self._home_key_id)
        placed: list[tuple[float, float]] = []
        for spec in self._config.objects:
            x_m, y_m, yaw_rad = self._sample_pose(spec, placed)
            placed.append((x_m, y_m))
            adr = self._object_qpos_adr[spec.name]
            self._data.qpos[adr:adr + 7] = (x_m, y_m, spec.z_m,
                                            np.cos(yaw_rad / 2), 0.0, 0.0, np.sin(yaw_rad / 2))
            dof = self._object_qvel_adr[spec.name]
            self._data.qvel[dof:dof + 6] = 0.0
        self._requested_time_s = 0.0
        mujoco.mj_forward(self._model, self._data)

    def _sample_pose(self, spec: SimObject, placed: list[tuple[float, float]]
                     ) -> tuple[float, float, float]:
        """Draw (x, y, yaw) by rejection until ``min_gap_m`` from every placed centre."""
        for _ in range(_MAX_PLACEMENT_TRIES):
            x_m = float(self._rng.uniform(*spec.x_m))
            y_m = float(self._rng.uniform(*spec.y_m))
            yaw_rad = float(self._rng.uniform(*spec.yaw_rad))
            if all(np.hypot(x_m - px, y_m - py) >= spec.min_gap_m for px, py in placed):
                return x_m, y_m, yaw_rad
        raise ConfigError(f'sim.objects.{spec.name}: no spot {spec.min_gap_m} m from the '
                          f'{len(placed)} objects before it in {_MAX_PLACEMENT_TRIES} draws')

    def joint_positions(self) -> NDArray[np.float64]:
        """Measured positions of ``joint_names``: (J,) rad (prismatic joints m)."""
        return np.array(self._data.qpos[self._qpos_index], dtype=np.float64)

    def joint_velocities(self) -> NDArray[np.float64]:
        """Measured velocities of ``joint_names``: (J,) rad/s (prismatic joints m/s)."""
        return np.array(self._data.qvel[self._qvel_index], dtype=np.float64)

    def joint_limits(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Position limits of ``joint_names`` as (lower, upper), each (J,) rad (or m)."""
        ranges = self._model.jnt_range[self._joint_ids]
        lower = np.array(ranges[:, 0], dtype=np.float64)
        return lower, np.array(ranges[:, 1], dtype=np.float64)

    def position_targets(self) -> NDArray[np.float64]:
        """Return the servo targets in force, (J,) in ``joint_names`` order."""
        return np.array(self._data.ctrl[self._ctrl_index], dtype=np.float64)

    def set_position_targets(self, positions: NDArray[np.float64]) -> None:
        """Set the servo targets, clipped to each actuator's control range.

        Args:
            positions: (J,) targets in ``joint_names`` order, rad (or m).

        Raises:
            InputError: wrong shape, or a NaN or Inf.
        """
        targets = np.asarray(positions, dtype=np.float64)
        if targets.shape != (len(self.joint_names),) or not np.all(np.isfinite(targets)):
            raise InputError(
                f'position targets: {targets!r}, expected {len(self.joint_names)} finite '
                f'values for {list(self.joint_names)!r}')
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
        """Object name -> (3,) centre position in the world frame, m."""
        return {name: np.array(self._data.qpos[adr:adr + 3], dtype=np.float64)
                for name, adr in self._object_qpos_adr.items()}

    def object_orientations(self) -> dict[str, NDArray[np.float64]]:
        """Object name -> (4,) orientation quaternion (w, x, y, z) in the world frame."""
        return {name: np.array(self._data.qpos[adr + 3:adr + 7], dtype=np.float64)
                for name, adr in self._object_qpos_adr.items()}

    def object_velocities(self) -> dict[str, NDArray[np.float64]]:
        """Object name -> (3,) linear velocity of its centre in the world frame, m/s."""
        return {name: np.array(self._data.qvel[adr:adr + 3], dtype=np.float64)
                for name, adr in self._object_qvel_adr.items()}

    def frame_position(self, frame: str) -> NDArray[np.float64]:
        """(3,) position of the named frame (its MJCF site), world frame, m.

        Raises:
            InputError: a frame ``sim.frames`` does not name.
        """
        site_id = self._site_ids.get(frame)
        if site_id is None:
            raise InputError(f'frame {frame!r}: unknown; sim.frames names {self.frame_names!r}')
        return np.array(self._data.site_xpos[site_id], dtype=np.float64)

    def end_effector_position(self) -> NDArray[np.float64]:
        """(3,) position of the ``end_effector`` frame, world frame, m (see ``frame_position``)."""
        return self.frame_position(END_EFFECTOR_FRAME)

    def render(self, camera: str, width: int, height: int) -> NDArray[np.uint8]:
        """Render one camera image of the current state.

        One renderer is kept per (width, height) and reused; call from a single thread.

        Args:
            camera: a name from ``camera_names``.
            width: image width, pixels, at most the model's offscreen width.
            height: image height, pixels, at most the model's offscreen height.

        Returns:
            (height, width, 3) uint8 RGB, row 0 at the top.

        Raises:
            InputError: unknown camera, or a size the offscreen buffer cannot hold.
        """
        camera_id = self._camera_ids.get(camera)
        if camera_id is None:
            raise InputError(f'camera {camera!r}: unknown; the scene has {self.camera_names!r}')
        renderer = self._renderers.get((width, height))
        if renderer is None:
            try:
                renderer = mujoco.Renderer(self._model, height=height, width=width)
            except ValueError as err:
                raise InputError(f'camera {camera!r}: cannot render {width}x{height}: {err}') \
                    from err
            self._renderers[(width, height)] = renderer
        renderer.update_scene(self._data, camera=camera_id)
        return np.array(renderer.render(), dtype=np.uint8)

    def close(self) -> None:
        """Free the renderers (their GL contexts). Idempotent."""
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    def __enter__(self) -> MujocoSim:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``sim`` section: which MuJoCo scene simulates the embodiment, and how it is bound.

Everything robot-specific the simulator needs is named here, never in code::

    sim:
      mjcf: urdf/aloha/aloha_scene.xml   # the scene: robot, table, objects, cameras
      seed: 0                           # object placement seed
      home_keyframe: home               # reset loads this MJCF keyframe (default: home)
      publish_rate_hz: 50.0             # joint states, /clock and the physics pacing
      camera_rate_hz: 10.0              # default rate of every camera
      joints:                           # embodiment joint -> MJCF joint and position actuator
        left_waist: {joint: vx300s_left/waist, actuator: left_waist}
      cameras:                          # embodiment camera -> MJCF camera (and its own rate)
        cam_high: {camera: top, rate_hz: 10.0}
      objects:                          # free bodies that reset scatters on the table
        red_cube: {joint: red_cube_joint, x_m: [0.0, 0.2], y_m: [0.4, 0.6], z_m: 0.02,
                   yaw_rad: [-0.5, 0.5], min_gap_m: 0.08}
      frames:                           # names the tasks use -> MJCF sites
        end_effector: ee_site

Every embodiment joint and camera is simulated; one not listed under ``sim.joints`` or
``sim.cameras`` binds to the MJCF joint and actuator (camera) of its own name. The loader checks
the names against the embodiment; the simulator checks them against the MJCF file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TYPE_CHECKING

from vla_ros.core.errors import ConfigError
from vla_ros.core.value_checks import is_number

if TYPE_CHECKING:
    from vla_ros.core.config import EmbodimentConfig

__all__ = ['SIM_KEYS', 'SimCamera', 'SimConfig', 'SimJoint', 'SimObject', 'parse_sim']

#: The keys the ``sim`` section accepts.
SIM_KEYS = frozenset({'mjcf', 'seed', 'physics_rate_hz', 'publish_rate_hz', 'camera_rate_hz',
                      'home_keyframe', 'joints', 'cameras', 'objects', 'frames'})


@dataclass(frozen=True, slots=True)
class SimJoint:
    """One simulated joint: the embodiment's name, its MJCF joint and its position actuator."""

    name: str
    mjcf_joint: str
    actuator: str


@dataclass(frozen=True, slots=True)
class SimCamera:
    """One simulated camera: the embodiment's name, its MJCF camera, its frame rate (Hz)."""

    name: str
    mjcf_camera: str
    rate_hz: float


@dataclass(frozen=True, slots=True)
class SimObject:
    """A free body that reset places at random, uniformly within a box of the table.

    Attributes:
        name: the object's name for the tasks (its pose is reported under it).
        joint: its MJCF free joint.
        x_m: (low, high) range of its centre's x, world frame, m.
        y_m: (low, high) range of its centre's y, m.
        z_m: its centre's height, m (resting on the table: half its height).
        yaw_rad: (low, high) range of its rotation about world z, rad.
        min_gap_m: least distance (in x-y) from the centre of every object placed before it.
    """

    name: str
    joint: str
    x_m: tuple[float, float]
    y_m: tuple[float, float]
    z_m: float
    yaw_rad: tuple[float, float] = (0.0, 0.0)
    min_gap_m: float = 0.0

    def __post_init__(self) -> None:
        where = f'sim.objects.{self.name}'
        for key in ('x_m', 'y_m', 'yaw_rad'):
            low_high = getattr(self, key)
            if (not isinstance(low_high, tuple) or len(low_high) != 2
                    or not all(is_number(v) for v in low_high) or low_high[0] > low_high[1]):
                raise ConfigError(f'{where}.{key}: {low_high!r}, expected [low, high] with '
                                  'low <= high')
        if not is_number(self.z_m) or not is_number(self.min_gap_m) or self.min_gap_m < 0:
            raise ConfigError(f'{where}: z_m={self.z_m!r}, min_gap_m={self.min_gap_m!r}; '
                              'expected finite numbers, min_gap_m >= 0')


@dataclass(frozen=True, slots=True)
class SimConfig:
    """The embedded MuJoCo simulation: scene file, seed, rates, and its bindings by name.

    Attributes:
        mjcf: the scene file.
        seed: object placement seed of the first reset.
        physics_rate_hz: unused; the MJCF's ``<option timestep>`` sets the physics step.
        publish_rate_hz: rate of the joint states and /clock, Hz.
        camera_rate_hz: the rate of cameras without their own, Hz.
        home_keyframe: the MJCF keyframe a reset loads.
        joints: every simulated joint, in ``embodiment.joints`` order.
        cameras: every simulated camera, in ``embodiment.cameras`` order.
        objects: the objects reset places, in placement order.
        frames: frame name (as the tasks know it) -> MJCF site.
    """

    mjcf: Path
    seed: int = 0
    physics_rate_hz: float = 500.0
    publish_rate_hz: float = 50.0
    camera_rate_hz: float = 10.0
    home_keyframe: str = 'home'
    joints: tuple[SimJoint, ...] = ()
    cameras: tuple[SimCamera, ...] = ()
    objects: tuple[SimObject, ...] = ()
    frames: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ('physics_rate_hz', 'publish_rate_hz', 'camera_rate_hz'):
            value = getattr(self, key)
            if not (is_number(value) and value > 0):
                raise ConfigError(f'sim.{key}: {value!r}, expected a finite number > 0')
        for camera in self.cameras:
            if not (is_number(camera.rate_hz) and camera.rate_hz > 0):
                raise ConfigError(f'sim.cameras.{camera.name}.rate_hz: {camera.rate_hz!r}, '
                                  'expected a finite number > 0')
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f'sim.seed: {self.seed!r}, expected an integer >= 0')

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The simulated joints' embodiment names, in order."""
        return tuple(joint.name for joint in self.joints)



def _bindings(raw: Any, key: str, names: tuple[str, ...], allowed: frozenset[str]
              ) -> dict[str, dict[str, Any]]:
    """``sim.<key>`` as name -> its settings, each name checked against ``names``."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f'sim.{key}: expected a mapping, got {raw!r}')
    bindings: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        if name not in names:
            raise ConfigError(f'sim.{key}.{name}: not in embodiment.{key} {list(names)!r}')
        if not isinstance(spec, Mapping) or set(spec) - allowed:
            raise ConfigError(f'sim.{key}.{name}: {spec!r}, expected a mapping with keys '
                              f'within {sorted(allowed)!r}')
        for field_name, value in spec.items():
            if field_name != 'rate_hz' and (not isinstance(value, str) or not value):
                raise ConfigError(f'sim.{key}.{name}.{field_name}: {value!r}, expected a name')
        bindings[str(name)] = dict(spec)
    return bindings


def _objects(raw: Any) -> tuple[SimObject, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(f'sim.objects: expected a mapping name -> placement, got {raw!r}')
    allowed = {'joint', 'x_m', 'y_m', 'z_m', 'yaw_rad', 'min_gap_m'}
    objects = []
    for name, spec in raw.items():
        if (not isinstance(spec, Mapping) or set(spec) - allowed
                or not {'joint', 'x_m', 'y_m', 'z_m'} <= set(spec)):
            raise ConfigError(f'sim.objects.{name}: {spec!r}, expected joint, x_m, y_m, z_m '
                              f'and optionally yaw_rad, min_gap_m')
        ranges = {key: tuple(spec[key]) if isinstance(spec[key], list) else spec[key]
                  for key in ('x_m', 'y_m', 'yaw_rad') if key in spec}
        objects.append(SimObject(name=str(name), joint=str(spec['joint']), z_m=spec['z_m'],
                                 min_gap_m=spec.get('min_gap_m', 0.0), **ranges))
    return tuple(objects)


def _frames(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
            isinstance(site, str) and site for site in raw.values()):
        raise ConfigError(f'sim.frames: {raw!r}, expected a mapping frame name -> MJCF site')
    return {str(name): site for name, site in raw.items()}


def parse_sim(sim: Mapping[str, Any], *, mjcf: Path, embodiment: EmbodimentConfig) -> SimConfig:
    """The ``sim`` section (its ``mjcf`` already resolved) bound to ``embodiment``.

    Raises:
        ConfigError: a bad value, or a joint or camera that the embodiment lacks.
    """
    unknown = sorted(set(sim) - SIM_KEYS)
    if unknown:
        raise ConfigError(f'sim: unknown keys {unknown!r}; allowed {sorted(SIM_KEYS)!r}')
    camera_names = tuple(camera.name for camera in embodiment.cameras)
    joints = _bindings(sim.get('joints'), 'joints', embodiment.joints,
                       frozenset({'joint', 'actuator'}))
    cameras = _bindings(sim.get('cameras'), 'cameras', camera_names,
                        frozenset({'camera', 'rate_hz'}))
    rates = {key: sim[key] for key in ('physics_rate_hz', 'publish_rate_hz', 'camera_rate_hz')
             if key in sim}
    camera_rate_hz = rates.get('camera_rate_hz', 10.0)
    home = sim.get('home_keyframe', 'home')
    if not isinstance(home, str) or not home:
        raise ConfigError(f'sim.home_keyframe: {home!r}, expected a keyframe name')
    return SimConfig(
        mjcf=mjcf, seed=sim.get('seed', 0), home_keyframe=home, **rates,
        joints=tuple(SimJoint(name=name, mjcf_joint=joints.get(name, {}).get('joint', name),
                              actuator=joints.get(name, {}).get('actuator', name))
                     for name in embodiment.joints),
        cameras=tuple(SimCamera(name=name,
                                mjcf_camera=cameras.get(name, {}).get('camera', name),
                                rate_hz=cameras.get(name, {}).get('rate_hz', camera_rate_hz))
                      for name in camera_names),
        objects=_objects(sim.get('objects')), frames=_frames(sim.get('frames')))

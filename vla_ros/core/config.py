# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The deployment config: one YAML file per embodiment, loaded into frozen dataclasses.

Every field is checked here, with the field path in the message; unknown keys are errors.
Relative paths in the file are resolved against the file's directory's parent (the package
root), so ``urdf/arm.urdf`` means the same thing from a source checkout and an install.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import enum
from pathlib import Path
from typing import Any

from vla_ros.core.errors import ConfigError

__all__ = [
    'CameraConfig', 'EmbodimentConfig', 'ExecutionConfig', 'ExecutionStrategy', 'PolicyConfig',
    'SafetyConfig', 'SimConfig', 'VlaConfig', 'load_config', 'parse_config',
]

SCHEMA_VERSION = 1


class ExecutionStrategy(enum.Enum):
    """How action chunks are turned into a continuous command stream."""

    SYNC = 'sync'


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """One camera: its image topic and the image it must deliver."""

    name: str
    topic: str
    width: int
    height: int
    encoding: str = 'rgb8'

    def __post_init__(self) -> None:
        for field_name in ('width', 'height'):
            value = getattr(self, field_name)
            if not _is_int(value) or value < 1:
                raise ConfigError(f'embodiment.cameras.{self.name}.{field_name}: {value!r}, '
                                  'expected an integer >= 1 (pixels)')


@dataclass(frozen=True, slots=True)
class EmbodimentConfig:
    """The robot: ordered joints, controller -> joints, cameras, URDF."""

    name: str
    urdf: Path
    joints: tuple[str, ...]
    controllers: Mapping[str, tuple[str, ...]]
    cameras: tuple[CameraConfig, ...]
    joint_state_topic: str = 'joint_states'

    def __post_init__(self) -> None:
        if len(set(self.joints)) != len(self.joints):
            raise ConfigError(f'embodiment.joints: duplicates in {list(self.joints)!r}')
        claimed: list[str] = []
        for controller, joints in self.controllers.items():
            unknown = [j for j in joints if j not in self.joints]
            if unknown:
                raise ConfigError(
                    f'embodiment.controllers.{controller}: unknown joints {unknown!r}; '
                    f'embodiment.joints is {list(self.joints)!r}')
            claimed.extend(joints)
        twice = sorted({j for j in claimed if claimed.count(j) > 1})
        if twice:
            raise ConfigError(f'embodiment.controllers: joints {twice!r} claimed twice')


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """Which policy runs: registered family, checkpoint directory, torch device."""

    family: str
    checkpoint: Path
    device: str = 'cpu'


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """How chunks are executed: strategy, and how many chunk steps run before re-inferring."""

    strategy: ExecutionStrategy = ExecutionStrategy.SYNC
    horizon: int | None = None

    def __post_init__(self) -> None:
        if self.horizon is not None and (not _is_int(self.horizon) or self.horizon < 1):
            raise ConfigError(
                f'execution.horizon: {self.horizon!r}, expected an integer >= 1 or unset')


@dataclass(frozen=True, slots=True)
class SafetyConfig:
    """When inputs count as stale, and the largest commanded step from the measured position."""

    stale_after_s: float = 1.0
    max_step_rad: float = 0.5

    def __post_init__(self) -> None:
        if not (_is_positive(self.stale_after_s) and _is_positive(self.max_step_rad)):
            raise ConfigError(
                f'safety: stale_after_s={self.stale_after_s!r}, '
                f'max_step_rad={self.max_step_rad!r}; both must be > 0')


@dataclass(frozen=True, slots=True)
class SimConfig:
    """The embedded MuJoCo simulation: scene file, seed, rates."""

    mjcf: Path
    seed: int = 0
    physics_rate_hz: float = 500.0
    publish_rate_hz: float = 50.0
    camera_rate_hz: float = 10.0


@dataclass(frozen=True, slots=True)
class VlaConfig:
    """The whole file."""

    embodiment: EmbodimentConfig
    policy: PolicyConfig
    execution: ExecutionConfig
    safety: SafetyConfig
    sim: SimConfig | None
    source: Path | None = None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive(value: object) -> bool:
    """A number > 0 (NaN and bool are not)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and value > 0.0)


def _require(section: Mapping[str, Any], name: str, keys: tuple[str, ...]) -> None:
    missing = [key for key in keys if key not in section]
    if missing:
        raise ConfigError(f'{name}.{missing[0]}: missing required key')


def _strategy(value: Any) -> ExecutionStrategy:
    try:
        return ExecutionStrategy(value)
    except ValueError as err:
        raise ConfigError(
            f'execution.strategy: {value!r}, expected one of '
            f'{[strategy.value for strategy in ExecutionStrategy]!r}') from err


def _section(raw: Mapping[str, Any], key: str, allowed: set[str], *,
             required: bool) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise ConfigError(f'{key}: missing section')
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f'{key}: expected a mapping, got {value!r}')
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ConfigError(f'{key}: unknown keys {unknown!r}; allowed {sorted(allowed)!r}')
    return dict(value)


def _path(value: Any, root: Path, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f'{where}: expected a path string, got {value!r}')
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def _cameras(raw: Any) -> tuple[CameraConfig, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f'embodiment.cameras: expected a non-empty mapping, got {raw!r}')
    cameras = []
    for name, spec in raw.items():
        allowed = {'topic', 'width', 'height', 'encoding'}
        if not isinstance(spec, Mapping) or set(spec) - allowed:
            raise ConfigError(f'embodiment.cameras.{name}: expected keys within {sorted(allowed)}')
        try:
            cameras.append(CameraConfig(name=str(name), **spec))
        except TypeError as err:
            raise ConfigError(f'embodiment.cameras.{name}: {err}') from err
    return tuple(cameras)


def parse_config(raw: Mapping[str, Any], *, root: Path) -> VlaConfig:
    """Build a VlaConfig from a parsed YAML mapping; relative paths resolve against ``root``."""
    top = {'schema_version', 'embodiment', 'policy', 'execution', 'safety', 'sim'}
    unknown = sorted(set(raw) - top)
    if unknown:
        raise ConfigError(f'unknown top-level keys {unknown!r}; allowed {sorted(top)!r}')
    if raw.get('schema_version') != SCHEMA_VERSION:
        raise ConfigError(
            f'schema_version: {raw.get("schema_version")!r}, expected {SCHEMA_VERSION}')
    emb = _section(raw, 'embodiment', {'name', 'urdf', 'joints', 'controllers', 'cameras',
                                       'joint_state_topic'}, required=True)
    pol = _section(raw, 'policy', {'family', 'checkpoint', 'device'}, required=True)
    exe = _section(raw, 'execution', {'strategy', 'horizon'}, required=False)
    saf = _section(raw, 'safety', {'stale_after_s', 'max_step_rad'}, required=False)
    sim = _section(raw, 'sim', {'mjcf', 'seed', 'physics_rate_hz', 'publish_rate_hz',
                                'camera_rate_hz'}, required=False)
    _require(emb, 'embodiment', ('name', 'urdf', 'joints', 'controllers', 'cameras'))
    _require(pol, 'policy', ('family', 'checkpoint'))
    try:
        embodiment = EmbodimentConfig(
            name=str(emb['name']), urdf=_path(emb['urdf'], root, 'embodiment.urdf'),
            joints=tuple(emb['joints']),
            controllers={str(k): tuple(v) for k, v in dict(emb['controllers']).items()},
            cameras=_cameras(emb['cameras']),
            joint_state_topic=str(emb.get('joint_state_topic', 'joint_states')))
        policy = PolicyConfig(
            family=str(pol['family']), device=str(pol.get('device', 'cpu')),
            checkpoint=_path(pol['checkpoint'], root, 'policy.checkpoint'))
        execution = ExecutionConfig(
            strategy=_strategy(exe.get('strategy', 'sync')), horizon=exe.get('horizon'))
        safety = SafetyConfig(**saf)
        sim_config = None
        if sim:
            sim_config = SimConfig(mjcf=_path(sim.pop('mjcf', None), root, 'sim.mjcf'), **sim)
    except KeyError as err:
        raise ConfigError(f'missing required key {err.args[0]!r}') from err
    except (TypeError, ValueError) as err:
        raise ConfigError(f'invalid value: {err}') from err
    return VlaConfig(embodiment=embodiment, policy=policy, execution=execution, safety=safety,
                     sim=sim_config)


def load_config(path: Path | str) -> VlaConfig:
    """Load and validate a YAML config file; raises ConfigError naming the field at fault."""
    import yaml  # PyYAML, a dependency of the ROS wheels and of ours

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f'{path}: cannot read config: {err}') from err
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{path}: expected a YAML mapping at top level')
    config = parse_config(raw, root=path.resolve().parent.parent)
    return VlaConfig(embodiment=config.embodiment, policy=config.policy,
                     execution=config.execution, safety=config.safety, sim=config.sim,
                     source=path)

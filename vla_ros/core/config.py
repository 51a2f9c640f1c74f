# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The deployment config: one YAML file per embodiment, loaded into frozen dataclasses.

Every field is checked here, with the field path in the message; unknown keys are errors.
Relative paths in the file are resolved against the file's directory's parent (the package
root), so ``urdf/arm.urdf`` means the same thing from a source checkout and an install.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
from dataclasses import dataclass
import enum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.action_space_config import ActionSpaceConfig, parse_action_space
from vla_ros.core.errors import ConfigError
from vla_ros.core.execution_config import (
    ExecutionConfig,
    ExecutionStrategy,
    parse_strategy,
    SafetyConfig,
)
from vla_ros.core.images import require_size
from vla_ros.core.policy_family import PolicyFamily
from vla_ros.core.policy_mapping import (
    ModelDtype,
    parse_dtype,
    parse_inputs,
    parse_outputs,
    PolicyInputs,
    PolicyOutputs,
)
from vla_ros.core.remote_config import parse_server, RemoteServerConfig
from vla_ros.core.sim_config import parse_sim, SIM_KEYS, SimConfig
from vla_ros.core.value_checks import is_int, is_number

__all__ = [
    'CameraConfig', 'CameraCrop', 'CommandKind', 'EmbodimentConfig', 'ExecutionConfig',
    'ExecutionStrategy',
    'JointCommandConfig', 'PolicyConfig', 'SafetyConfig', 'SimConfig', 'VlaConfig', 'load_config',
    'parse_config', 'parse_strategy',
]

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class CameraCrop:
    """The region of a camera's frames the policy sees, pixels (``sensor_msgs/RegionOfInterest``).

    The fields are named as the message and ``image_proc``'s crop name them. A wide camera (an
    overhead view of a whole table) shows a small workspace in a handful of pixels once the
    frame is resized to a small policy's input; cropping it to the workspace first keeps the
    objects several patches wide. The crop is part of the observation: demonstrations record
    the cropped frames, and the policy node crops each arriving frame the same way, so
    training and deployment see the same pixels.
    """

    x_offset: int
    y_offset: int
    width: int
    height: int

    def check_inside(self, camera: str, *, width: int, height: int) -> None:
        """ConfigError unless the region lies inside a width x height image."""
        where = f'embodiment.cameras.{camera}.crop'
        for field_name in ('x_offset', 'y_offset', 'width', 'height'):
            value = getattr(self, field_name)
            least = 0 if field_name.endswith('offset') else 1
            if not is_int(value) or value < least:
                raise ConfigError(f'{where}.{field_name}: {value!r}, expected an integer '
                                  f'>= {least} (pixels)')
        if self.x_offset + self.width > width or self.y_offset + self.height > height:
            raise ConfigError(
                f'{where}: x {self.x_offset}..{self.x_offset + self.width}, y '
                f'{self.y_offset}..{self.y_offset + self.height} leaves the '
                f'{width}x{height} frame')


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """One camera: its image topic, the image it must deliver, and the region the policy sees.

    ``width`` x ``height`` is the frame the camera publishes (checked on arrival); with
    ``crop`` the observation holds only that region (``observed_width`` x
    ``observed_height``), without it the whole frame.
    """

    name: str
    topic: str
    width: int
    height: int
    encoding: str = 'rgb8'
    crop: CameraCrop | None = None

    def __post_init__(self) -> None:
        for field_name in ('width', 'height'):
            value = getattr(self, field_name)
            if not is_int(value) or value < 1:
                raise ConfigError(f'embodiment.cameras.{self.name}.{field_name}: {value!r}, '
                                  'expected an integer >= 1 (pixels)')
        if self.crop is not None:
            self.crop.check_inside(self.name, width=self.width, height=self.height)

    @property
    def observed_width(self) -> int:
        """Columns of the image the policy sees (the crop's, else the frame's), pixels."""
        return self.width if self.crop is None else self.crop.width

    @property
    def observed_height(self) -> int:
        """Rows of the image the policy sees (the crop's, else the frame's), pixels."""
        return self.height if self.crop is None else self.crop.height

    def observed(self, image: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The part of a frame the policy sees: the crop (a view), or the frame itself.

        Raises:
            InputError: the frame is not ``width`` x ``height``.
        """
        require_size(image, height=self.height, width=self.width,
                     where=f'camera {self.name!r} ({self.topic})')
        crop = self.crop
        if crop is None:
            return image
        return image[crop.y_offset:crop.y_offset + crop.height,
                     crop.x_offset:crop.x_offset + crop.width]


class CommandKind(enum.Enum):
    """What the policy's action value for one joint means."""

    ABSOLUTE = 'absolute'  # the target position, rad (m for prismatic joints)
    DELTA = 'delta'  # an offset from the position measured with the observation
    NORMALIZED_GRIPPER = 'normalized_gripper'  # 0 closed .. 1 open, mapped onto a range


@dataclass(frozen=True, slots=True)
class JointCommandConfig:
    """How one joint's action value becomes an absolute target (unlisted joints: absolute).

    Attributes:
        joint: the joint's name.
        kind: what the value means.
        closed_position: the position a normalized value 0 maps to, rad or m (gripper only).
        open_position: the position a normalized value 1 maps to, rad or m (gripper only).
    """

    joint: str
    kind: CommandKind = CommandKind.ABSOLUTE
    closed_position: float | None = None
    open_position: float | None = None

    def __post_init__(self) -> None:
        where = f'embodiment.commands.{self.joint}'
        ends = (self.closed_position, self.open_position)
        if self.kind is not CommandKind.NORMALIZED_GRIPPER:
            if ends != (None, None):
                raise ConfigError(f'{where}: closed_position/open_position {ends!r} apply only '
                                  f'to kind {CommandKind.NORMALIZED_GRIPPER.value!r}')
            return
        if not all(is_number(end) for end in ends) or ends[0] == ends[1]:
            raise ConfigError(f'{where}: closed_position/open_position {ends!r}, expected two '
                              'different finite numbers (rad or m)')


@dataclass(frozen=True, slots=True)
class EmbodimentConfig:
    """The robot: ordered joints, controller -> joints, cameras, URDF, per-joint semantics.

    ``controllers`` are the controllers the policy commands; ``held_controllers`` (controller
    -> joints) hold their joints where they are (a humanoid's legs): their joints are measured
    and checked like every joint, but no chunk ever includes them and nothing is published to
    them.
    """

    name: str
    urdf: Path
    joints: tuple[str, ...]
    controllers: Mapping[str, tuple[str, ...]]
    cameras: tuple[CameraConfig, ...]
    joint_state_topic: str = 'joint_states'
    commands: tuple[JointCommandConfig, ...] = ()
    held_controllers: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(set(self.joints)) != len(self.joints):
            raise ConfigError(f'embodiment.joints: duplicates in {list(self.joints)!r}')
        both = [name for name in self.held_controllers if name in self.controllers]
        if both:
            raise ConfigError(f'embodiment.held_controllers: {both!r} also in '
                              'embodiment.controllers; a controller is commanded or held')
        claimed: list[str] = []
        for key, controllers in (('controllers', self.controllers),
                                 ('held_controllers', self.held_controllers)):
            for controller, joints in controllers.items():
                unknown = [j for j in joints if j not in self.joints]
                if unknown:
                    raise ConfigError(
                        f'embodiment.{key}.{controller}: unknown joints {unknown!r}; '
                        f'embodiment.joints is {list(self.joints)!r}')
                claimed.extend(joints)
        twice = sorted({j for j in claimed if claimed.count(j) > 1})
        if twice:
            raise ConfigError(f'embodiment.controllers: joints {twice!r} claimed twice')
        commanded = [command.joint for command in self.commands]
        unknown = [joint for joint in commanded if joint not in self.joints]
        if unknown or len(set(commanded)) != len(commanded):
            raise ConfigError(f'embodiment.commands: joints {commanded!r}, expected each at most '
                              f'once and within embodiment.joints {list(self.joints)!r}')


#: ``policy.decoding`` values (None: the default, free decoding).
DECODINGS = (None, 'free', 'length_constrained')


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """Which policy runs: registered family, checkpoint directory, torch device.

    ``threads`` sets torch's CPU threads for the process (None: torch's default, one per
    core). On a CPU shared with a simulator or drivers, 1 thread is usually the fastest:
    measured here, 4-15 ms per inference against 160-230 ms with 2 threads on 2 busy cores.
    ``dtype`` (None: bfloat16 on a GPU, float32 on the CPU), ``tokenizer``, ``inputs`` and
    ``outputs`` describe checkpoints in published layouts (``vla_ros.core.policy_mapping``).
    ``decoding`` (``free`` or ``length_constrained``; None: free) is how a LeRobot pi0-FAST
    folder decodes: ``length_constrained`` allows only the FAST ids that keep a chunk at
    exactly chunk x action_dim coefficients (``policies/fast/released_length_rule.py``), so
    no malformed chunk makes the node hold. Only the fast family reads it.
    ``noise_scale`` (>= 0; None: 1) multiplies the Gaussian noise a flow policy starts each
    chunk from: 1 samples the learnt distribution, 0 starts every chunk from zero noise, a
    deterministic chunk near the distribution's centre (on the G1's hand reach 0 reached more
    often than 1, ``docs/results.md``). Only the flow family reads it.
    A remote family (openpi, groot, openvla) has ``server`` (``vla_ros.core.remote_config``)
    instead of ``checkpoint``. ``family`` given by its name (a node parameter) becomes the
    ``PolicyFamily`` of that name; an unknown name is a ConfigError.
    """

    family: PolicyFamily
    checkpoint: Path | None
    device: str = 'cpu'
    threads: int | None = None
    dtype: ModelDtype | None = None
    tokenizer: Path | None = None
    inputs: PolicyInputs | None = None
    outputs: PolicyOutputs | None = None
    server: RemoteServerConfig | None = None
    decoding: str | None = None
    noise_scale: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, 'family', PolicyFamily.parse(self.family))
        if self.noise_scale is not None and not (is_number(self.noise_scale)
                                                 and self.noise_scale >= 0):
            raise ConfigError(f'policy.noise_scale: {self.noise_scale!r}, expected a number '
                              '>= 0 or null')
        if (self.checkpoint is None) == (self.server is None):
            raise ConfigError('policy.checkpoint and policy.server: give exactly one (server '
                              'for a remote family, checkpoint for a local one)')
        if self.threads is not None and (isinstance(self.threads, bool)
                                         or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ConfigError(f'policy.threads: {self.threads!r}, expected an integer >= 1 '
                              'or null')
        if (self.inputs is None) != (self.outputs is None):
            raise ConfigError('policy.inputs and policy.outputs: give both or neither')
        if self.decoding not in DECODINGS:
            raise ConfigError(f'policy.decoding: {self.decoding!r}, expected one of '
                              f'{[name for name in DECODINGS if name]!r} or null')

    def layout_settings(self) -> tuple[str, ...]:
        """The names of the set fields only some families read; the others refuse them."""
        return tuple(name for name in ('dtype', 'tokenizer', 'inputs', 'outputs', 'decoding',
                                       'noise_scale')
                     if getattr(self, name) is not None)


@dataclass(frozen=True, slots=True)
class VlaConfig:
    """The whole file."""

    embodiment: EmbodimentConfig
    policy: PolicyConfig
    execution: ExecutionConfig
    safety: SafetyConfig
    sim: SimConfig | None
    source: Path | None = None
    action_space: ActionSpaceConfig | None = None


def _require(section: Mapping[str, Any], name: str, keys: tuple[str, ...]) -> None:
    missing = [key for key in keys if key not in section]
    if missing:
        raise ConfigError(f'{name}.{missing[0]}: missing required key')


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
        allowed = {'topic', 'width', 'height', 'encoding', 'crop'}
        if not isinstance(spec, Mapping) or set(spec) - allowed:
            raise ConfigError(f'embodiment.cameras.{name}: expected keys within {sorted(allowed)}')
        fields = dict(spec)
        if 'crop' in fields:
            fields['crop'] = _camera_crop(str(name), fields['crop'])
        try:
            cameras.append(CameraConfig(name=str(name), **fields))
        except TypeError as err:
            raise ConfigError(f'embodiment.cameras.{name}: {err}') from err
    return tuple(cameras)


def _camera_crop(camera: str, raw: Any) -> CameraCrop:
    keys = {'x_offset', 'y_offset', 'width', 'height'}
    if not isinstance(raw, Mapping) or set(raw) != keys:
        raise ConfigError(f'embodiment.cameras.{camera}.crop: {raw!r}, expected the keys '
                          f'{sorted(keys)} (pixels)')
    return CameraCrop(**{str(key): value for key, value in raw.items()})


def _joint_commands(raw: Any) -> tuple[JointCommandConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(f'embodiment.commands: expected a mapping joint -> {{kind: ...}}, '
                          f'got {raw!r}')
    commands = []
    kinds = [kind.value for kind in CommandKind]
    for joint, spec in raw.items():
        allowed = {'kind', 'closed_position', 'open_position'}
        if not isinstance(spec, Mapping) or 'kind' not in spec or set(spec) - allowed:
            raise ConfigError(f'embodiment.commands.{joint}: {spec!r}, expected a mapping with '
                              f'kind and keys within {sorted(allowed)}')
        if spec['kind'] not in kinds:
            raise ConfigError(f'embodiment.commands.{joint}.kind: {spec["kind"]!r}, expected '
                              f'one of {kinds!r}')
        commands.append(JointCommandConfig(
            joint=str(joint), kind=CommandKind(spec['kind']),
            closed_position=spec.get('closed_position'), open_position=spec.get('open_position')))
    return tuple(commands)


def _policy(pol: Mapping[str, Any], root: Path, embodiment: EmbodimentConfig) -> PolicyConfig:
    cameras = [camera.name for camera in embodiment.cameras]
    return PolicyConfig(
        family=PolicyFamily.parse(str(pol['family'])), device=str(pol.get('device', 'cpu')),
        checkpoint=None if pol.get('checkpoint') is None
        else _path(pol['checkpoint'], root, 'policy.checkpoint'),
        server=None if pol.get('server') is None else parse_server(pol['server']),
        threads=pol.get('threads'), dtype=parse_dtype(pol.get('dtype')),
        tokenizer=None if pol.get('tokenizer') is None
        else _path(pol['tokenizer'], root, 'policy.tokenizer'),
        inputs=None if pol.get('inputs') is None
        else parse_inputs(pol['inputs'], joints=embodiment.joints, cameras=cameras),
        outputs=None if pol.get('outputs') is None
        else parse_outputs(pol['outputs'], joints=embodiment.joints),
        decoding=pol.get('decoding'), noise_scale=pol.get('noise_scale'))


def parse_config(raw: Mapping[str, Any], *, root: Path) -> VlaConfig:
    """Build a VlaConfig from a parsed YAML mapping; relative paths resolve against ``root``."""
    top = {'schema_version', 'embodiment', 'policy', 'execution', 'safety', 'sim',
           'action_space'}
    unknown = sorted(set(raw) - top)
    if unknown:
        raise ConfigError(f'unknown top-level keys {unknown!r}; allowed {sorted(top)!r}')
    if raw.get('schema_version') != SCHEMA_VERSION:
        raise ConfigError(
            f'schema_version: {raw.get("schema_version")!r}, expected {SCHEMA_VERSION}')
    emb = _section(raw, 'embodiment', {'name', 'urdf', 'joints', 'controllers', 'cameras',
                                       'joint_state_topic', 'commands', 'held_controllers'},
                   required=True)
    pol = _section(raw, 'policy', {'family', 'checkpoint', 'device', 'threads', 'dtype',
                                   'tokenizer', 'inputs', 'outputs', 'server', 'decoding',
                                   'noise_scale'},
                   required=True)
    exe = _section(raw, 'execution', {'strategy', 'horizon', 'async_threshold_steps',
                                      'ensemble_decay', 'rtc_guidance_weight',
                                      'latency_window'}, required=False)
    saf = _section(raw, 'safety', {'stale_after_s', 'max_step_rad', 'max_acceleration_rad_s2',
                                   'enable_ramp_s', 'joint_state_tolerance'}, required=False)
    sim = _section(raw, 'sim', set(SIM_KEYS), required=False)
    _require(emb, 'embodiment', ('name', 'urdf', 'joints', 'controllers', 'cameras'))
    _require(pol, 'policy', ('family',))
    try:
        embodiment = EmbodimentConfig(
            name=str(emb['name']), urdf=_path(emb['urdf'], root, 'embodiment.urdf'),
            joints=tuple(emb['joints']),
            controllers={str(k): tuple(v) for k, v in dict(emb['controllers']).items()},
            cameras=_cameras(emb['cameras']),
            joint_state_topic=str(emb.get('joint_state_topic', 'joint_states')),
            commands=_joint_commands(emb.get('commands')),
            held_controllers={str(k): tuple(v) for k, v in
                              dict(emb.get('held_controllers') or {}).items()})
        policy = _policy(pol, root, embodiment)
        execution = ExecutionConfig(strategy=parse_strategy(exe.pop('strategy', 'sync')), **exe)
        safety = SafetyConfig(**saf)
        sim_config = None
        if sim:
            sim_config = parse_sim(sim, mjcf=_path(sim.get('mjcf'), root, 'sim.mjcf'),
                                   embodiment=embodiment)
    except KeyError as err:
        raise ConfigError(f'missing required key {err.args[0]!r}') from err
    except (TypeError, ValueError) as err:
        raise ConfigError(f'invalid value: {err}') from err
    action_space = None
    if raw.get('action_space') is not None:
        action_space = parse_action_space(raw['action_space'],
                                          controllers=embodiment.controllers)
    return VlaConfig(embodiment=embodiment, policy=policy, execution=execution, safety=safety,
                     sim=sim_config, action_space=action_space)


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
    return dataclasses.replace(parse_config(raw, root=path.resolve().parent.parent), source=path)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``policy.server`` config section: where a remote policy runs and how its messages look.

A remote family (``openpi``, ``groot``, ``openvla``) has no checkpoint folder; the YAML names
the server and says which robot signal goes under which key of the server's observation and
which action column drives which joint:

```yaml
policy:
  family: openpi
  server:
    url: ws://gpu-box:8000                 # wss:// for TLS; tcp:// (groot); http:// (openvla)
    ca_file: /etc/vla_ros/gpu-box-ca.pem   # wss:// only: the CA that signed the server's cert
    api_key_env: VLA_ROS_API_KEY           # the key is read from this variable, never the file
    timeout_s: 2.0                         # longest wait for one reply; then hold, reconnect
    patience_s: 30.0                       # server away this long during a goal: abort it
    schema: droid                          # vla_ros | droid | aloha | libero | openvla | custom
    cameras: [front, wrist]                # embodiment cameras in the schema's slot order
    state: [joint1, ..., gripper_joint]    # joints in the schema's state order
    actions: [joint1, ..., gripper_joint]  # what each action column is, in order
    chunk_length: 10
    dt_s: 0.0667
```

``schema: vla_ros`` (the default) is what ``vla-ros serve`` speaks: everything comes from the
server's metadata frame. ``schema: custom`` takes a ``mapping`` instead (keys, image layout and
size, state slots, action slots; ``parse_mapping``). numpy-free: plain values, checked here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
import enum
from typing import Any

from vla_ros.core.errors import ConfigError
from vla_ros.core.value_checks import is_number

__all__ = ['ActionSlot', 'CameraSlot', 'ImageLayout', 'RemoteServerConfig', 'StateSlot',
           'WireMapping', 'WireSchema', 'parse_server', 'reference_mapping']


class ImageLayout(enum.Enum):
    """How an image goes on the wire: (H, W, 3) or (3, H, W), uint8 RGB."""

    HWC = 'hwc'
    CHW = 'chw'


class WireSchema(enum.Enum):
    """Which observation keys a server expects (protocols.md, section 1a and 1d)."""

    VLA_ROS = 'vla_ros'  # vla-ros serve: the spec comes from the metadata frame
    DROID = 'droid'
    ALOHA = 'aloha'
    LIBERO = 'libero'
    OPENVLA = 'openvla'
    CUSTOM = 'custom'


@dataclass(frozen=True, slots=True)
class CameraSlot:
    """One image of the request: its key path, the camera that fills it, its layout."""

    key: tuple[str, ...]
    camera: str
    layout: ImageLayout = ImageLayout.HWC
    rotate_180: bool = False


@dataclass(frozen=True, slots=True)
class StateSlot:
    """One state vector of the request: its key path and the joints in it, in order."""

    key: tuple[str, ...]
    joints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActionSlot:
    """One action array of the reply: its key path (empty: the reply itself) and its columns.

    ``columns`` names each column in order; None marks a column that is read but not used.
    """

    key: tuple[str, ...]
    columns: tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class WireMapping:
    """Observation -> request keys and reply -> action chunk, for one served model.

    Attributes:
        cameras: the images of the request.
        state: the state vectors of the request.
        prompt_key: key path of the instruction (empty: none is sent).
        actions: the action arrays of the reply, concatenated in this order.
        image_height: rows every image is letterboxed to, pixels.
        image_width: columns every image is letterboxed to, pixels.
        chunk_length: rows of the chunk; a reply must have at least this many.
        dt_s: time between chunk rows, seconds.
    """

    cameras: tuple[CameraSlot, ...]
    state: tuple[StateSlot, ...]
    prompt_key: tuple[str, ...]
    actions: tuple[ActionSlot, ...]
    image_height: int
    image_width: int
    chunk_length: int
    dt_s: float

    def __post_init__(self) -> None:
        if not _is_count(self.image_height) or not _is_count(self.image_width):
            raise ConfigError(f'policy.server.image_size: {self.image_height!r} x '
                              f'{self.image_width!r}, expected integers >= 1 (pixels)')
        if not _is_count(self.chunk_length):
            raise ConfigError(f'policy.server.chunk_length: {self.chunk_length!r}, expected an '
                              'integer >= 1')
        if not (is_number(self.dt_s) and self.dt_s > 0):
            raise ConfigError(f'policy.server.dt_s: {self.dt_s!r}, expected a number > 0 (s)')
        columns = self.action_columns
        if not columns or len(set(columns)) != len(columns):
            raise ConfigError(f'policy.server.actions: columns {list(columns)!r}, expected at '
                              'least one and each name once')

    @property
    def action_columns(self) -> tuple[str, ...]:
        """The names of the used action columns, in chunk order."""
        return tuple(name for slot in self.actions for name in slot.columns if name is not None)


@dataclass(frozen=True, slots=True)
class RemoteServerConfig:
    """Where the remote policy runs and how to talk to it.

    Attributes:
        url: the server (``ws://``/``wss://`` openpi, ``tcp://`` GR00T, ``http(s)://`` OpenVLA).
        api_key_env: the environment variable holding the API key; None: no key is sent.
        timeout_s: longest wait for one reply, seconds; then the node holds and reconnects.
        connect_timeout_s: longest wait to connect at configure, seconds.
        patience_s: how long a running instruction (a goal) waits for a failing server to
            answer again, seconds on the controllers' clock; then the runner gives it up
            (holding) and the goal is aborted with the reason.
        schema: which observation keys the server expects.
        mapping: the resolved keys; None for ``vla_ros`` (from the server's metadata).
        unnorm_key: OpenVLA's dataset statistics key; None: the server's default.
        ca_file: for ``wss://``, the PEM file of the CA(s) that the server's certificate must
            chain to (a self-signed one's own certificate); None: the system's CAs.
    """

    url: str
    api_key_env: str | None = None
    timeout_s: float = 5.0
    connect_timeout_s: float = 10.0
    patience_s: float = 30.0
    schema: WireSchema = WireSchema.VLA_ROS
    mapping: WireMapping | None = None
    unnorm_key: str | None = None
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or '://' not in self.url:
            raise ConfigError(f'policy.server.url: {self.url!r}, expected a URL such as '
                              'ws://host:8000')
        for name in ('timeout_s', 'connect_timeout_s', 'patience_s'):
            value = getattr(self, name)
            if not (is_number(value) and value > 0):
                raise ConfigError(f'policy.server.{name}: {value!r}, expected a number > 0 (s)')
        if self.ca_file is not None and not (
                isinstance(self.ca_file, str) and self.ca_file and self.url.startswith('wss://')):
            raise ConfigError(f'policy.server.ca_file: {self.ca_file!r}, expected a file path, '
                              f'and only with a wss:// url (url is {self.url!r})')
        if (self.mapping is None) != (self.schema is WireSchema.VLA_ROS):
            raise ConfigError(f'policy.server.schema: {self.schema.value!r} needs a mapping '
                              'and vla_ros takes none')


#: schema -> (camera slots (key, layout, rotate), state slots (key, width), action width,
#: chunk length, dt_s, image side). Sources: openpi's droid/aloha/libero policies and
#: examples, OpenVLA's deploy.py (protocols.md).
_H, _C = ImageLayout.HWC, ImageLayout.CHW
_REFERENCE: dict[WireSchema, tuple[tuple[tuple[str, ...], ImageLayout, bool], ...]] = {
    WireSchema.DROID: ((('observation/exterior_image_1_left',), _H, False),
                       (('observation/wrist_image_left',), _H, False)),
    WireSchema.ALOHA: tuple(((('images', name), _C, False)) for name in (
        'cam_high', 'cam_low', 'cam_left_wrist', 'cam_right_wrist')),
    WireSchema.LIBERO: ((('observation/image',), _H, True),
                        (('observation/wrist_image',), _H, True)),
    WireSchema.OPENVLA: ((('image',), _H, False),),
}
_REFERENCE_STATE: dict[WireSchema, tuple[tuple[tuple[str, ...], int], ...]] = {
    WireSchema.DROID: ((('observation/joint_position',), 7),
                       (('observation/gripper_position',), 1)),
    WireSchema.ALOHA: ((('state',), 14),),
    WireSchema.LIBERO: ((('observation/state',), 8),),
    WireSchema.OPENVLA: (),
}
#: schema -> (prompt key, action key, action width, chunk length, dt_s, image side)
_REFERENCE_REPLY: dict[WireSchema, tuple[tuple[str, ...], tuple[str, ...], int, int, float,
                                         int]] = {
    WireSchema.DROID: (('prompt',), ('actions',), 8, 10, 1.0 / 15.0, 224),
    WireSchema.ALOHA: (('prompt',), ('actions',), 14, 25, 0.02, 224),
    WireSchema.LIBERO: (('prompt',), ('actions',), 7, 10, 0.05, 224),
    WireSchema.OPENVLA: (('instruction',), (), 7, 1, 0.2, 224),
}


def reference_mapping(schema: WireSchema, *, cameras: Sequence[str | None],
                      state: Sequence[str], actions: Sequence[str],
                      chunk_length: int | None = None, dt_s: float | None = None
                      ) -> WireMapping:
    """The mapping of a reference schema, filled with the robot's camera and joint names.

    Args:
        schema: DROID, ALOHA, LIBERO or OPENVLA.
        cameras: embodiment cameras in the schema's slot order; None leaves a slot out.
        state: joints in the schema's state order (DROID 7 + 1, ALOHA 14, LIBERO 8, OpenVLA 0).
        actions: names of the action columns (DROID 8, ALOHA 14, LIBERO 7, OpenVLA 7).
        chunk_length: rows used of each reply; None: the schema's usual horizon.
        dt_s: time between rows, seconds; None: the schema's control period.

    Raises:
        ConfigError: a list of the wrong length, naming the schema's widths.
    """
    slots, state_slots = _REFERENCE[schema], _REFERENCE_STATE[schema]
    prompt, action_key, width, horizon, period_s, side = _REFERENCE_REPLY[schema]
    where = f'policy.server ({schema.value})'
    widths = [count for _, count in state_slots]
    if len(cameras) != len(slots) or all(camera is None for camera in cameras):
        raise ConfigError(f'{where}.cameras: {list(cameras)!r}, expected {len(slots)} entries '
                          f'(camera or null) for {[" / ".join(key) for key, _, _ in slots]}')
    if len(state) != sum(widths) or len(actions) != width:
        raise ConfigError(f'{where}: state {list(state)!r} and actions {list(actions)!r}, '
                          f'expected {sum(widths)} state joints ({widths}) and {width} columns')
    state_out, start = [], 0
    for key, count in state_slots:
        state_out.append(StateSlot(key=key, joints=tuple(state[start:start + count])))
        start += count
    return WireMapping(
        cameras=tuple(CameraSlot(key=key, camera=camera, layout=layout, rotate_180=rotate)
                      for (key, layout, rotate), camera in zip(slots, cameras, strict=True)
                      if camera is not None),
        state=tuple(state_out), prompt_key=prompt,
        actions=(ActionSlot(key=action_key, columns=tuple(actions)),),
        image_height=side, image_width=side,
        chunk_length=horizon if chunk_length is None else chunk_length,
        dt_s=period_s if dt_s is None else dt_s)


def _key(value: Any, where: str) -> tuple[str, ...]:
    """A key path written with dots for nesting ('images.cam_high'); '' is no key."""
    if not isinstance(value, str) or (value and not all(value.split('.'))):
        raise ConfigError(f'{where}: {value!r}, expected a key (dots nest: images.cam_high)')
    return tuple(value.split('.')) if value else ()


def _names(value: Any, where: str, *, nullable: bool = False) -> tuple[Any, ...]:
    ok = isinstance(value, Sequence) and not isinstance(value, str) and all(
        (isinstance(v, str) and v) or (nullable and v is None) for v in value)
    if not ok:
        raise ConfigError(f'{where}: {value!r}, expected a list of names'
                          + (' (or null)' if nullable else ''))
    return tuple(value)


def _entries(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f'policy.server.mapping.{name}: expected a mapping key -> ...')
    return value


def parse_mapping(raw: Any, *, chunk_length: int | None, dt_s: float | None) -> WireMapping:
    """Build the WireMapping of a ``schema: custom`` section.

    The section reads (dots in a key nest maps: ``images.cam_high``)::

        image_size: [224, 224]                       # height, width
        cameras: {observation/image: {camera: front, layout: hwc, rotate_180: false}}
        state: {observation/state: [joint1, joint2]}
        prompt: prompt                               # '' sends no instruction
        actions: {actions: [joint1, joint2, null]}   # null: a column that is not used

    Raises:
        ConfigError: an unknown or malformed entry, naming it.
    """
    where = 'policy.server.mapping'
    allowed = {'image_size', 'cameras', 'state', 'prompt', 'actions'}
    if not isinstance(raw, Mapping) or set(raw) - allowed:
        raise ConfigError(f'{where}: expected a mapping with keys within {sorted(allowed)}')
    size = raw.get('image_size', [224, 224])
    if not (isinstance(size, Sequence) and len(size) == 2):
        raise ConfigError(f'{where}.image_size: {size!r}, expected [height, width]')
    cameras = []
    for key, spec in _entries(raw, 'cameras').items():
        spec = {'camera': spec} if isinstance(spec, str) else spec
        if not isinstance(spec, Mapping) or set(spec) - {'camera', 'layout', 'rotate_180'}:
            raise ConfigError(f'{where}.cameras.{key}: {spec!r}, expected a camera name or '
                              '{camera, layout, rotate_180}')
        layouts = [layout.value for layout in ImageLayout]
        if spec.get('layout', 'hwc') not in layouts:
            raise ConfigError(f'{where}.cameras.{key}.layout: {spec["layout"]!r}, expected '
                              f'one of {layouts}')
        cameras.append(CameraSlot(key=_key(key, f'{where}.cameras'),
                                  camera=str(spec.get('camera')),
                                  layout=ImageLayout(spec.get('layout', 'hwc')),
                                  rotate_180=bool(spec.get('rotate_180', False))))
    state = [StateSlot(key=_key(key, f'{where}.state'),
                       joints=_names(joints, f'{where}.state.{key}'))
             for key, joints in _entries(raw, 'state').items()]
    actions = [ActionSlot(key=_key(key, f'{where}.actions'),
                          columns=_names(columns, f'{where}.actions.{key}', nullable=True))
               for key, columns in _entries(raw, 'actions').items()]
    if chunk_length is None or dt_s is None:
        raise ConfigError('policy.server: schema custom needs chunk_length and dt_s')
    return WireMapping(cameras=tuple(cameras), state=tuple(state),
                       prompt_key=_key(raw.get('prompt', 'prompt'), f'{where}.prompt'),
                       actions=tuple(actions), image_height=size[0], image_width=size[1],
                       chunk_length=chunk_length, dt_s=dt_s)


def parse_server(raw: Any) -> RemoteServerConfig:
    """Build the RemoteServerConfig of a ``policy.server`` section (see the module doc).

    Custom mappings nest keys with dots (``images.cam_high``), so a key cannot hold a dot
    itself; reference schemas fix their keys.

    Raises:
        ConfigError: an unknown key or a malformed value, naming the field.
    """
    allowed = {'url', 'api_key_env', 'timeout_s', 'connect_timeout_s', 'patience_s', 'schema',
               'cameras', 'state', 'actions', 'chunk_length', 'dt_s', 'mapping', 'unnorm_key',
               'ca_file'}
    if not isinstance(raw, Mapping) or 'url' not in raw or set(raw) - allowed:
        raise ConfigError(f'policy.server: {raw!r}, expected a mapping with url and keys '
                          f'within {sorted(allowed)}')
    try:
        schema = WireSchema(raw.get('schema', 'vla_ros'))
    except ValueError as err:
        raise ConfigError(f'policy.server.schema: {raw.get("schema")!r}, expected one of '
                          f'{[schema.value for schema in WireSchema]}') from err
    names = {'cameras', 'state', 'actions'} & set(raw)
    if schema in (WireSchema.VLA_ROS, WireSchema.CUSTOM) and names:
        raise ConfigError(f'policy.server.{sorted(names)[0]}: schema {schema.value!r} takes '
                          'no names list (vla_ros: from the server; custom: in mapping)')
    if ('mapping' in raw) != (schema is WireSchema.CUSTOM):
        raise ConfigError('policy.server.mapping: give it exactly when schema is custom')
    mapping = None
    chunk_length, dt_s = raw.get('chunk_length'), raw.get('dt_s')
    if schema is WireSchema.CUSTOM:
        mapping = parse_mapping(raw['mapping'], chunk_length=chunk_length, dt_s=dt_s)
    elif schema is not WireSchema.VLA_ROS:
        mapping = reference_mapping(
            schema, cameras=_names(raw.get('cameras', []), 'policy.server.cameras',
                                   nullable=True),
            state=_names(raw.get('state', []), 'policy.server.state'),
            actions=_names(raw.get('actions', []), 'policy.server.actions'),
            chunk_length=chunk_length, dt_s=dt_s)
    elif chunk_length is not None or dt_s is not None:
        raise ConfigError('policy.server: schema vla_ros reads chunk_length and dt_s from the '
                          'server; remove them')
    api_key_env = raw.get('api_key_env')
    if api_key_env is not None and (not isinstance(api_key_env, str) or not api_key_env):
        raise ConfigError(f'policy.server.api_key_env: {api_key_env!r}, expected the name of '
                          'an environment variable')
    server = RemoteServerConfig(url=raw['url'], api_key_env=api_key_env, schema=schema,
                                mapping=mapping, unnorm_key=raw.get('unnorm_key'),
                                ca_file=raw.get('ca_file'))
    overrides = {name: raw[name] for name in ('timeout_s', 'connect_timeout_s', 'patience_s')
                 if name in raw}
    return replace(server, **overrides) if overrides else server


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What the numbers of a policy's action row mean, per controller: the ``action_space`` section.

A policy's raw action row is the concatenation of one block per declared controller, in the
order of the section. Each block is one of:

- ``joint_position``: absolute targets of the controller's joints (ALOHA, pi0), rad (m);
- ``joint_delta``: offsets of those joints, rad (m);
- ``joint_velocity``: joint velocities, rad/s (m/s), integrated at the chunk's time step (DROID);
- ``ee_delta``: a Cartesian move of a URDF frame (RT-2, OpenVLA): (dx, dy, dz) m then a
  rotation (``euler``: droll, dpitch, dyaw; ``axis_angle``; ``rotation_6d``; ``none``);
- ``ee_pose``: an absolute pose of that frame, the same layout;
- ``gripper``: one normalised open/close number mapped linearly onto the gripper joint.

Deltas count from the measured state (``delta_reference: observation``) or from the chunk's
previous row (``previous_row``, the first row from the measured state). End-effector moves are
expressed in ``reference_frame`` (default: the URDF root, the robot base); naming the
controlled ``frame`` itself gives tool-frame deltas. Example (the tabletop arm, OpenVLA style)::

    action_space:
      arm_controller: {type: ee_delta, frame: ee_link, rotation: euler}
      gripper_controller: {type: gripper, joint: gripper_joint}

Every controller of ``embodiment.controllers`` must be declared exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import enum
from typing import Any

from vla_ros.core.errors import ConfigError
from vla_ros.core.rotations import RotationRepresentation
from vla_ros.core.value_checks import is_number, is_positive

__all__ = [
    'ActionGroup', 'ActionSpace', 'ActionSpaceConfig', 'DeltaReference', 'EndEffectorGroup',
    'GripperGroup', 'IkBackend', 'JointGroup', 'RotationRepresentation', 'parse_action_space',
]


class ActionSpace(enum.Enum):
    """The kind of one controller's block of the action row."""

    JOINT_POSITION = 'joint_position'
    JOINT_DELTA = 'joint_delta'
    JOINT_VELOCITY = 'joint_velocity'
    EE_DELTA = 'ee_delta'
    EE_POSE = 'ee_pose'
    GRIPPER = 'gripper'


class DeltaReference(enum.Enum):
    """What a delta row is added to."""

    OBSERVATION = 'observation'
    PREVIOUS_ROW = 'previous_row'


class IkBackend(enum.Enum):
    """Who solves inverse kinematics: our Pinocchio DLS, or MoveIt through moveit_py."""

    PINOCCHIO = 'pinocchio'
    MOVEIT = 'moveit'


@dataclass(frozen=True, slots=True)
class JointGroup:
    """Joint-space block: absolute positions, deltas or velocities of ``joints``."""

    controller: str
    joints: tuple[str, ...]
    space: ActionSpace = ActionSpace.JOINT_POSITION
    delta_reference: DeltaReference = DeltaReference.OBSERVATION

    def __post_init__(self) -> None:
        joint_spaces = (ActionSpace.JOINT_POSITION, ActionSpace.JOINT_DELTA,
                        ActionSpace.JOINT_VELOCITY)
        if self.space not in joint_spaces:
            raise ConfigError(f'action_space.{self.controller}.type: {self.space.value!r} is '
                              'not a joint-space type')
        if not self.joints:
            raise ConfigError(f'action_space.{self.controller}: no joints')

    @property
    def width(self) -> int:
        """Columns of the action row."""
        return len(self.joints)


@dataclass(frozen=True, slots=True)
class EndEffectorGroup:
    """Cartesian block: a pose or a pose change of URDF ``frame``, solved for ``joints``.

    Attributes:
        controller: the controller whose joints the inverse kinematics moves.
        joints: those joints, in the controller's order.
        space: EE_DELTA or EE_POSE.
        frame: the URDF frame the action moves (the tool centre point).
        reference_frame: the URDF frame the action is expressed in; None is the URDF root.
        rotation: how the rotation part is encoded (NONE: position only).
        delta_reference: what a delta row is applied to.
        ik_backend: who solves the inverse kinematics.
        max_linear_speed_m_s: largest commanded frame speed; faster rows are clamped.
        max_angular_speed_rad_s: largest commanded frame rotation speed.
        rest_positions: (J,) rest pose the null space is pulled to, rad; None: no pull.
        moveit_group: the SRDF planning group for ``ik: moveit``; None: the controller name.
    """

    controller: str
    joints: tuple[str, ...]
    frame: str
    space: ActionSpace = ActionSpace.EE_DELTA
    reference_frame: str | None = None
    rotation: RotationRepresentation = RotationRepresentation.EULER
    delta_reference: DeltaReference = DeltaReference.PREVIOUS_ROW
    ik_backend: IkBackend = IkBackend.PINOCCHIO
    max_linear_speed_m_s: float = 0.5
    max_angular_speed_rad_s: float = 3.0
    rest_positions: tuple[float, ...] | None = None
    moveit_group: str | None = None

    def __post_init__(self) -> None:
        where = f'action_space.{self.controller}'
        if self.space not in (ActionSpace.EE_DELTA, ActionSpace.EE_POSE):
            raise ConfigError(f'{where}.type: {self.space.value!r} is not an end-effector type')
        if self.space is ActionSpace.EE_POSE and self.rotation is RotationRepresentation.NONE:
            raise ConfigError(f"{where}.rotation: ee_pose needs a rotation, got 'none'")
        for name in ('max_linear_speed_m_s', 'max_angular_speed_rad_s'):
            if not is_positive(getattr(self, name)):
                raise ConfigError(f'{where}.{name}: {getattr(self, name)!r}, expected > 0')
        if self.rest_positions is not None and (
                len(self.rest_positions) != len(self.joints)
                or not all(is_number(value) for value in self.rest_positions)):
            raise ConfigError(f'{where}.rest_positions: {self.rest_positions!r}, expected '
                              f'{len(self.joints)} finite numbers for {list(self.joints)!r}')

    @property
    def width(self) -> int:
        """Columns of the action row: 3 for the position plus the rotation's width."""
        return 3 + self.rotation.width


@dataclass(frozen=True, slots=True)
class GripperGroup:
    """One normalised number -> the gripper joint, linearly.

    ``normalised_closed`` maps to ``closed_position`` and ``normalised_open`` to
    ``open_position``; None positions are the URDF's lower (closed) and upper (open) limit.
    """

    controller: str
    joint: str
    closed_position: float | None = None
    open_position: float | None = None
    normalised_closed: float = 0.0
    normalised_open: float = 1.0

    def __post_init__(self) -> None:
        where = f'action_space.{self.controller}'
        if not (is_number(self.normalised_closed) and is_number(self.normalised_open)
                and self.normalised_closed != self.normalised_open):
            raise ConfigError(
                f'{where}: normalised_closed={self.normalised_closed!r}, normalised_open='
                f'{self.normalised_open!r}; expected two different finite numbers')
        for name in ('closed_position', 'open_position'):
            value = getattr(self, name)
            if value is not None and not is_number(value):
                raise ConfigError(f'{where}.{name}: {value!r}, expected a finite number')

    @property
    def joints(self) -> tuple[str, ...]:
        """The one joint driven."""
        return (self.joint,)

    @property
    def width(self) -> int:
        """Columns of the action row."""
        return 1


ActionGroup = JointGroup | EndEffectorGroup | GripperGroup


@dataclass(frozen=True, slots=True)
class ActionSpaceConfig:
    """The whole section: the action row's blocks, in row order."""

    groups: tuple[ActionGroup, ...]

    def __post_init__(self) -> None:
        if not self.groups:
            raise ConfigError('action_space: no controller declared')
        joints = self.joint_names
        twice = sorted({joint for joint in joints if joints.count(joint) > 1})
        if twice:
            raise ConfigError(f'action_space: joints {twice!r} driven by two declarations')

    @property
    def width(self) -> int:
        """Columns of the policy's raw action row."""
        return sum(group.width for group in self.groups)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The joints the converted chunk commands, group by group."""
        return tuple(joint for group in self.groups for joint in group.joints)




def _enum(kind: type[enum.Enum], value: Any, where: str) -> Any:
    try:
        return kind(value)
    except ValueError as err:
        raise ConfigError(f'{where}: {value!r}, expected one of '
                          f'{[member.value for member in kind]!r}') from err


_COMMON_KEYS = {'type'}
_KEYS = {
    ActionSpace.JOINT_POSITION: {'joints'},
    ActionSpace.JOINT_DELTA: {'joints', 'delta_reference'},
    ActionSpace.JOINT_VELOCITY: {'joints'},
    ActionSpace.EE_DELTA: {'joints', 'frame', 'reference_frame', 'rotation', 'delta_reference',
                           'ik', 'max_linear_speed_m_s', 'max_angular_speed_rad_s',
                           'rest_positions', 'moveit_group'},
    ActionSpace.GRIPPER: {'joint', 'closed_position', 'open_position', 'normalised_closed',
                          'normalised_open'},
}
_KEYS[ActionSpace.EE_POSE] = _KEYS[ActionSpace.EE_DELTA] - {'delta_reference'}


def _joints(spec: Mapping[str, Any], owned: tuple[str, ...], where: str) -> tuple[str, ...]:
    joints = spec.get('joints', list(owned))
    if not isinstance(joints, list) or not all(isinstance(name, str) for name in joints):
        raise ConfigError(f'{where}.joints: {joints!r}, expected a list of joint names')
    foreign = [name for name in joints if name not in owned]
    if foreign:
        raise ConfigError(f'{where}.joints: {foreign!r} are not joints of this controller; '
                          f'it has {list(owned)!r}')
    return tuple(joints)


def _group(controller: str, spec: Any, owned: tuple[str, ...]) -> ActionGroup:
    where = f'action_space.{controller}'
    if not isinstance(spec, Mapping) or 'type' not in spec:
        raise ConfigError(f'{where}: expected a mapping with a type, got {spec!r}')
    space: ActionSpace = _enum(ActionSpace, spec['type'], f'{where}.type')
    unknown = sorted(set(spec) - _KEYS[space] - _COMMON_KEYS)
    if unknown:
        raise ConfigError(f'{where}: unknown keys {unknown!r} for type {space.value!r}; '
                          f'allowed {sorted(_KEYS[space] | _COMMON_KEYS)!r}')
    options = {key: value for key, value in spec.items() if key != 'type'}
    if space is ActionSpace.GRIPPER:
        joint = options.pop('joint', owned[0] if len(owned) == 1 else None)
        if joint not in owned:
            raise ConfigError(f'{where}.joint: {joint!r}, expected one of {list(owned)!r}')
        return GripperGroup(controller=controller, joint=joint, **options)
    joints = _joints(options, owned, where)
    options.pop('joints', None)
    if 'delta_reference' in options:
        options['delta_reference'] = _enum(DeltaReference, options['delta_reference'],
                                           f'{where}.delta_reference')
    if space in (ActionSpace.EE_DELTA, ActionSpace.EE_POSE):
        if 'frame' not in options:
            raise ConfigError(f'{where}.frame: missing required key')
        if 'rotation' in options:
            options['rotation'] = _enum(RotationRepresentation, options['rotation'],
                                        f'{where}.rotation')
        if 'ik' in options:
            options['ik_backend'] = _enum(IkBackend, options.pop('ik'), f'{where}.ik')
        if options.get('rest_positions') is not None:
            options['rest_positions'] = tuple(options['rest_positions'])
        return EndEffectorGroup(controller=controller, joints=joints, space=space, **options)
    return JointGroup(controller=controller, joints=joints, space=space, **options)


def parse_action_space(raw: Any, *, controllers: Mapping[str, tuple[str, ...]]
                       ) -> ActionSpaceConfig:
    """Build the ``action_space`` section from its parsed YAML mapping.

    Args:
        raw: controller name -> declaration, in action-row order.
        controllers: ``embodiment.controllers`` (controller -> its joints).

    Raises:
        ConfigError: naming the field: unknown or undeclared controller, unknown key or type,
            a joint outside its controller, or a bad value.
    """
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f'action_space: expected a non-empty mapping, got {raw!r}')
    unknown = [str(name) for name in raw if name not in controllers]
    undeclared = [name for name in controllers if name not in raw]
    if unknown or undeclared:
        raise ConfigError(
            f'action_space: unknown controllers {unknown!r}, undeclared controllers '
            f'{undeclared!r}; declare each of {list(controllers)!r} once')
    try:
        groups = tuple(_group(str(name), spec, tuple(controllers[name]))
                       for name, spec in raw.items())
    except (TypeError, ValueError) as err:
        raise ConfigError(f'action_space: invalid value: {err}') from err
    return ActionSpaceConfig(groups=groups)

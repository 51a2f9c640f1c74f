# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Everything a policy node's ``configure`` does before ROS: limits, policy, checks, warm-up.

ROS-free, so each start-up check has a plain test: joints that the URDF lacks, a policy whose
joints or cameras do not match the embodiment, per-joint semantics for joints it does not drive.
The policy is loaded by the ``PolicyLoader`` the caller passes in (the policy node passes the
registry's ``load_policy``), so ``execution`` does not import ``policies``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vla_ros.core.action_space_config import ActionSpace, DeltaReference, JointGroup
from vla_ros.core.config import CommandKind
from vla_ros.core.errors import ConfigError
from vla_ros.core.policy import outputs_offsets
from vla_ros.core.warm_up import warm_up
from vla_ros.execution.action_space_policy import ActionSpacePolicy
from vla_ros.execution.action_spaces import ActionSpaceConverter
from vla_ros.execution.joint_limits import JointLimits, load_urdf_limits
from vla_ros.execution.joint_semantics import wrap_policy

if TYPE_CHECKING:
    from vla_ros.core.action_space_config import ActionSpaceConfig
    from vla_ros.core.config import EmbodimentConfig, VlaConfig
    from vla_ros.core.policy import Policy, PolicyLoader, PolicySpec

__all__ = ['PreparedPolicy', 'check_joint_delta_rows', 'check_policy_fits', 'prepare_policy']


@dataclass(frozen=True, slots=True)
class PreparedPolicy:
    """A loaded, checked and warmed-up policy with the robot's limits.

    Attributes:
        policy: the policy, wrapped so that its chunks are absolute joint targets.
        limits: the URDF limits of every one-degree-of-freedom joint.
        warm_up_ms: the time of the warm-up inference, milliseconds.
        source: where the policy comes from (the checkpoint folder or the server URL).
        release: frees what the policy holds outside the process (a remote policy's
            connection); call it once the policy is no longer used.
        inference_path: how the policy computes its chunks (e.g. the flow sampler's backend
            and device), for the log; '' when the policy does not say.
    """

    policy: Policy
    limits: JointLimits
    warm_up_ms: float
    source: str = ''
    release: Callable[[], None] = field(default=lambda: None)
    inference_path: str = ''


def check_policy_fits(embodiment: EmbodimentConfig, spec: PolicySpec) -> None:
    """Check that the policy reads configured cameras and drives exactly the controllers' joints.

    Raises:
        ConfigError: naming the cameras or joints that do not match.
    """
    configured = {camera.name for camera in embodiment.cameras}
    if not set(spec.camera_names) <= configured:
        raise ConfigError(
            f'the policy reads cameras {sorted(set(spec.camera_names) - configured)} that '
            'embodiment.cameras does not define')
    commanded = {joint for joints in embodiment.controllers.values() for joint in joints}
    if set(spec.joint_names) != commanded:
        raise ConfigError(f'the policy drives joints {list(spec.joint_names)} but the '
                          f'controllers take {sorted(commanded)}')


def check_joint_delta_rows(action_space: ActionSpaceConfig | None, spec: PolicySpec) -> None:
    """Refuse to run a checkpoint of joint offsets unless ``action_space`` adds them back.

    Such a checkpoint (``vla-ros train --joint-deltas``) outputs, per column of ``spec``,
    the target minus the observed joint; sent as targets they would drive every joint
    towards zero.

    Raises:
        ConfigError: no action_space section, a controller not declared ``joint_delta`` from
            the observation, or declared joints in another order than the policy's columns.
    """
    wanted = '{type: joint_delta, delta_reference: observation}'
    if action_space is None:
        raise ConfigError('the checkpoint outputs offsets from the observed joints (trained '
                          f'with --joint-deltas): declare every controller {wanted} in an '
                          'action_space section')
    for group in action_space.groups:
        if not (isinstance(group, JointGroup) and group.space is ActionSpace.JOINT_DELTA
                and group.delta_reference is DeltaReference.OBSERVATION):
            raise ConfigError(f'action_space.{group.controller}: the checkpoint outputs '
                              'offsets from the observed joints (trained with '
                              f'--joint-deltas); declare it {wanted}')
    if action_space.joint_names != tuple(spec.joint_names):
        raise ConfigError(f'action_space: joints {list(action_space.joint_names)} in this '
                          "order, but the checkpoint's columns are "
                          f'{list(spec.joint_names)}; list the controllers in its order')


def prepare_policy(config: VlaConfig, *, load: PolicyLoader) -> PreparedPolicy:
    """Read the limits, load the policy with ``load``, check it against the embodiment, warm up.

    Raises:
        ConfigError: a joint missing from the URDF, an unloadable checkpoint, a policy that
            does not fit the embodiment, or semantics for a joint it does not drive.
        InputError, PolicyOutputError: the warm-up inference failed.
    """
    embodiment = config.embodiment
    limits = load_urdf_limits(embodiment.urdf)
    try:
        limits.subset(embodiment.joints)
    except ConfigError as err:
        raise ConfigError(f'embodiment.joints: {err}') from err
    loaded = load(config.policy.family, config.policy.checkpoint,
                  device=config.policy.device, threads=config.policy.threads,
                  settings=config.policy)
    if outputs_offsets(loaded):
        check_joint_delta_rows(config.action_space, loaded.spec)
    if config.action_space is None:
        check_policy_fits(embodiment, loaded.spec)
        policy = wrap_policy(loaded, embodiment.commands)
    else:
        if any(command.kind is not CommandKind.ABSOLUTE
               for command in embodiment.commands):
            raise ConfigError('embodiment.commands and action_space both say what the policy '
                              'outputs; declare one of them')
        policy = ActionSpacePolicy(loaded, ActionSpaceConverter(
            config.action_space, urdf_path=embodiment.urdf,
            max_step_rad=config.safety.max_step_rad))
        check_policy_fits(embodiment, policy.spec)
    release = getattr(loaded, 'close', None)
    inference_path = getattr(loaded, 'inference_path', '')
    warm_up_ms = warm_up(policy)
    server = config.policy.server
    return PreparedPolicy(
        policy=policy, limits=limits, warm_up_ms=warm_up_ms,
        source=server.url if server is not None else str(config.policy.checkpoint),
        release=release if callable(release) else (lambda: None),
        inference_path=inference_path if isinstance(inference_path, str) else '')

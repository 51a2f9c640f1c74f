# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A Policy that speaks a declared action space, seen from outside as joint targets.

``ActionSpacePolicy`` wraps an inner policy whose chunks hold raw action rows (end-effector
deltas, joint velocities, a normalised gripper, ...; the column names of its chunk are not
read, only its width) and converts every chunk to absolute joint targets from the
observation's measured joints, with ``ActionSpaceConverter``. The runner, the chunk planner
and the node then treat it like any other policy.

What the conversion corrected is kept in ``last_report`` and handed to ``on_report`` (the
node shows ``ConversionReport.summary()`` in /vla/status).
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from typing import TYPE_CHECKING

from vla_ros.core.errors import PolicyOutputError
from vla_ros.core.policy import PolicySpec
from vla_ros.core.types import ActionChunk, Observation
from vla_ros.execution.conversion_report import ConversionReport

if TYPE_CHECKING:
    from vla_ros.core.policy import Policy
    from vla_ros.execution.action_spaces import ActionSpaceConverter

__all__ = ['ActionSpacePolicy']

_LOG = logging.getLogger(__name__)


class ActionSpacePolicy:
    """``inner``'s raw chunks converted to joint targets by ``converter``.

    Args:
        inner: a policy whose chunks are (T, D) raw action rows, D = ``converter.config.width``.
        converter: the declared action space of ``inner``.
        on_report: called with each chunk's conversion report (on the inference thread).

    Raises:
        PolicyOutputError: ``inner``'s chunk width does not match the declaration.
    """

    def __init__(self, inner: Policy, converter: ActionSpaceConverter, *,
                 on_report: Callable[[ConversionReport], None] | None = None) -> None:
        width = converter.config.width
        if len(inner.spec.joint_names) != width:
            raise PolicyOutputError(
                f'policy outputs {len(inner.spec.joint_names)} action columns, but the declared '
                f'action space has {width}')
        self._inner = inner
        self._converter = converter
        self._on_report = on_report
        self._last_report = ConversionReport()
        spec = inner.spec
        self._spec = PolicySpec(
            joint_names=converter.joint_names, camera_names=spec.camera_names,
            image_height=spec.image_height, image_width=spec.image_width,
            chunk_length=spec.chunk_length, dt_s=spec.dt_s)

    @property
    def spec(self) -> PolicySpec:
        """The inner spec, with the converted joints as its action columns."""
        return self._spec

    @property
    def inner(self) -> Policy:
        """The wrapped policy."""
        return self._inner

    @property
    def last_report(self) -> ConversionReport:
        """What the conversion of the latest chunk corrected."""
        return self._last_report

    def infer(self, observation: Observation) -> ActionChunk:
        """The inner chunk as absolute joint targets (see ``ActionSpaceConverter.convert``).

        Raises:
            InputError: the observation lacks a joint of the action space.
            PolicyOutputError: the inner chunk has the wrong width or a NaN.
        """
        raw = self._inner.infer(observation)
        measured = observation.positions_for(self._converter.joint_names)
        converted = self._converter.convert(raw.positions, measured, dt_s=raw.dt_s)
        self._last_report = converted.report
        if converted.report.unreachable_steps:
            _LOG.debug('%s', converted.report.summary())
        if self._on_report is not None:
            self._on_report(converted.report)
        return ActionChunk(converted.joint_names, converted.positions, raw.dt_s)

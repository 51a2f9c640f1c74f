# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What recording and playback need to know about a topic: its message class and its QoS.

rosbag2 keeps, per topic, the QoS profiles its publishers offered. The recorder subscribes so
that it matches all of them (best effort if any publisher is, transient-local only if all are)
and stores them; the player offers them again, so a latched topic (``vla/status``) stays
latched after a replay and a best-effort camera stays best effort. Sensor topics are always
recorded best effort, like every other sensor subscriber of vla_ros.
"""

from __future__ import annotations

from collections.abc import Sequence
import importlib

from rclpy.duration import Duration
from rclpy.qos import (
                       DurabilityPolicy,
                       HistoryPolicy,
                       LivelinessPolicy,
                       QoSProfile,
                       ReliabilityPolicy,
)
from rosbags.interfaces import (
                                Qos,
                                QosDurability,
                                QosHistory,
                                QosLiveliness,
                                QosReliability,
                                QosTime,
)

from vla_ros.core.errors import ConfigError

__all__ = ['PLAYBACK_DEPTH', 'RECORD_DEPTH', 'bag_qos', 'message_class', 'playback_qos',
           'recording_qos']

#: Queue of a recording subscription: deep, so that a slow write drops nothing.
RECORD_DEPTH = 100
#: Queue of a playback publisher (rosbag2 resets the recorded history to its default, 10).
PLAYBACK_DEPTH = 10
#: Message packages whose topics are sensor streams, recorded best effort.
_SENSOR_PACKAGES = ('sensor_msgs/',)


def message_class(type_name: str) -> type:
    """The generated Python class of ``pkg/msg/Name`` (or ``pkg/action/Name_Feedback...``).

    Raises:
        ConfigError: the package is not built and sourced here, or has no such type.
    """
    package, kind, name = (type_name.split('/') + ['', '', ''])[:3]
    try:
        module = importlib.import_module(f'{package}.{kind}')
    except ImportError as err:
        raise ConfigError(f'message type {type_name!r}: package {package!r} is not available '
                          'here; build and source it') from err
    cls = getattr(module, name, None)
    if cls is None and kind == 'action' and '_' in name:
        action_name, part = name.rsplit('_', 1)
        action = getattr(module, action_name, None)
        cls = getattr(getattr(action, 'Impl', None), part, None)
    if not isinstance(cls, type):
        raise ConfigError(f'message type {type_name!r}: no {name!r} in {module.__name__}')
    return cls


def bag_qos(profile: QoSProfile) -> Qos:
    """A publisher's QoS (as the graph reports it) in the form rosbag2 stores."""
    return Qos(
        history=QosHistory(int(profile.history)),
        depth=profile.depth,
        reliability=QosReliability(int(profile.reliability)),
        durability=QosDurability(int(profile.durability)),
        deadline=_bag_time(profile.deadline),
        lifespan=_bag_time(profile.lifespan),
        liveliness=QosLiveliness(int(profile.liveliness)),
        liveliness_lease_duration=_bag_time(profile.liveliness_lease_duration),
        avoid_ros_namespace_conventions=profile.avoid_ros_namespace_conventions)


def recording_qos(type_name: str, offers: Sequence[Qos]) -> QoSProfile:
    """The subscription QoS that receives from every publisher that made ``offers``."""
    best_effort = (type_name.startswith(_SENSOR_PACKAGES)
                   or any(offer.reliability == QosReliability.BEST_EFFORT for offer in offers))
    latched = bool(offers) and all(
        offer.durability == QosDurability.TRANSIENT_LOCAL for offer in offers)
    return _profile(best_effort=best_effort, latched=latched, depth=RECORD_DEPTH)


def playback_qos(offers: Sequence[Qos]) -> QoSProfile:
    """The publisher QoS that replays a topic as its recorded publishers offered it.

    Mixed or missing offers give rosbag2's fallback: reliable and volatile.
    """
    best_effort = bool(offers) and all(
        offer.reliability == QosReliability.BEST_EFFORT for offer in offers)
    latched = bool(offers) and all(
        offer.durability == QosDurability.TRANSIENT_LOCAL for offer in offers)
    return _profile(best_effort=best_effort, latched=latched, depth=PLAYBACK_DEPTH)


def _profile(*, best_effort: bool, latched: bool, depth: int) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth,
        reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
        liveliness=LivelinessPolicy.SYSTEM_DEFAULT)


def _bag_time(duration: Duration) -> QosTime:
    seconds, nanoseconds = divmod(duration.nanoseconds, 1_000_000_000)
    return QosTime(sec=seconds, nsec=nanoseconds)

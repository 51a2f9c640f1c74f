# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What recording and playback need to know about a topic: its message class and its QoS.

rosbag2 keeps, per topic, the QoS profiles its publishers offered. The recorder subscribes as
rosbag2 does, so that it matches all of them and loses nothing a reliable publisher sends:
reliable when every publisher is reliable, best effort if any publisher is, transient-local
only if all are; and it stores them. The player offers them again, so a latched topic
(``vla/status``) stays latched after a replay and a best-effort camera stays best effort.

Reliable matters for recording: a best-effort subscription to a reliable camera lets the
middleware drop whole frames (a 640x480 rgb8 image is 900 kB of fragments, and one lost
fragment loses the frame; a measured 34 of 150 frames arrived at 30 Hz next to a busy core).

Publishers come and go while recording. rosbag2 keeps its first choice and warns that a later
incompatible publisher is not recorded; the recorder looks at the publishers again each
discovery period instead, and when they need another reliability or durability (the first
publishers of a topic subscribed before any existed, a best-effort publisher joining reliable
ones) it subscribes anew, keeping the old subscription until the new one has matched every
publisher (:class:`RecordedTopic`). Meanwhile both deliver, and a message that comes twice
(same publisher and sequence number) is written once; a middleware that hides those may
record a few twice around the switch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import importlib
import time
from typing import Any

from rclpy.duration import Duration
from rclpy.qos import (
                       DurabilityPolicy,
                       HistoryPolicy,
                       LivelinessPolicy,
                       QoSProfile,
                       ReliabilityPolicy,
)
from rclpy.subscription import MessageInfo, Subscription
from rosbags.interfaces import (
                                Qos,
                                QosDurability,
                                QosHistory,
                                QosLiveliness,
                                QosReliability,
                                QosTime,
)

from vla_ros.core.errors import ConfigError

__all__ = ['PLAYBACK_DEPTH', 'RECORD_DEPTH', 'RecordedTopic', 'bag_qos', 'can_match',
           'message_class', 'playback_qos', 'publication_key', 'recording_qos',
           'reliability_name', 'same_matching']

#: Queue of a recording subscription: deep, so that a burst waiting for the executor drops
#: nothing (the disk work is on the bag writer's thread).
RECORD_DEPTH = 100
#: Queue of a playback publisher (rosbag2 resets the recorded history to its default, 10).
PLAYBACK_DEPTH = 10
#: Longest an old subscription is kept while its replacement has not matched every publisher.
RESUBSCRIBE_TIMEOUT_S = 5.0

#: A message's origin: its publisher's gid and its sequence number there.
PublicationKey = tuple[bytes, int]


@dataclass(slots=True)
class RecordedTopic:
    """One recorded topic: its subscription, and the previous one while its QoS changes."""

    type_name: str
    msg_type: type
    qos: QoSProfile
    subscription: Subscription[Any]
    #: The replaced subscription, destroyed once ``subscription`` matched every publisher.
    retiring: Subscription[Any] | None = None
    retire_by_s: float = 0.0
    #: Keys of messages taken while two subscriptions delivered.
    overlap_keys: set[PublicationKey] = field(default_factory=set)
    lost: int = 0  # messages the middleware reports lost on the way

    def replace(self, subscription: Subscription[Any], qos: QoSProfile) -> None:
        """Record from ``subscription`` now; the current one delivers until :meth:`retire`."""
        self.overlap_keys.clear()
        self.retiring, self.subscription, self.qos = self.subscription, subscription, qos
        self.retire_by_s = time.monotonic() + RESUBSCRIBE_TIMEOUT_S

    def retire(self, publishers: int) -> Subscription[Any] | None:
        """The old subscription to destroy, once the new one matched ``publishers`` (or late)."""
        if self.retiring is None or (self.subscription.get_publisher_count() < publishers
                                     and time.monotonic() < self.retire_by_s):
            return None
        retiring, self.retiring = self.retiring, None
        return retiring

    def is_duplicate(self, key: PublicationKey | None) -> bool:
        """Whether a message came already through the other subscription of a QoS change.

        Keys are kept while two subscriptions deliver; a key met again leaves the set.
        """
        if key is None:
            return False
        if key in self.overlap_keys:
            self.overlap_keys.discard(key)
            return True
        if self.retiring is not None:
            self.overlap_keys.add(key)
        return False


def publication_key(info: MessageInfo) -> PublicationKey | None:
    """Who sent a message, and its sequence number; None where the middleware hides them."""
    gid, sequence = info.get('publisher_gid'), info.get('publication_sequence_number')
    if not gid or sequence is None:
        return None
    return bytes(gid['data']), sequence


def reliability_name(qos: QoSProfile) -> str:
    """``reliable`` or ``best effort``, for logs."""
    return 'best effort' if qos.reliability == ReliabilityPolicy.BEST_EFFORT else 'reliable'


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


def recording_qos(offers: Sequence[Qos]) -> QoSProfile:
    """The subscription QoS that receives every message of the publishers that made ``offers``.

    Reliable when every offer is reliable, best effort when any is best effort (a reliable
    subscription would not match that publisher at all). With no offers (a topic subscribed
    before its first publisher) reliable and volatile, as rosbag2: a reliable publisher then
    loses nothing from its first message on, and a best-effort one is matched once the
    recorder has subscribed again.
    """
    best_effort = any(offer.reliability == QosReliability.BEST_EFFORT for offer in offers)
    latched = bool(offers) and all(
        offer.durability == QosDurability.TRANSIENT_LOCAL for offer in offers)
    return _profile(best_effort=best_effort, latched=latched, depth=RECORD_DEPTH)


def can_match(offered: QoSProfile, requested: QoSProfile) -> bool:
    """Whether a subscription requesting ``requested`` hears a publisher offering ``offered``.

    Only reliability and durability are compared: rclpy's ``qos_check_compatible`` takes the
    infinite deadline and lease that the graph reports for a subscription as set, and so
    calls nearly every pair from the graph incompatible.
    """
    reliable, latched = ReliabilityPolicy.RELIABLE, DurabilityPolicy.TRANSIENT_LOCAL
    return not ((requested.reliability == reliable and offered.reliability != reliable)
                or (requested.durability == latched and offered.durability != latched))


def same_matching(first: QoSProfile, second: QoSProfile) -> bool:
    """Whether two subscription profiles match the same publishers (reliability, durability)."""
    return (first.reliability, first.durability) == (second.reliability, second.durability)


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

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The recorder: topics -> a rosbag2 bag, as the serialized bytes that arrived.

Subscriptions are raw (``raw=True``): a message is never deserialized, only stamped with its
receive time (the node's clock under ``use_sim_time``) and handed to
:class:`~vla_ros.data.BagWriter`, whose own thread does the disk work. A topic is given as
``NAME`` (its type is looked up in the graph, which is polled until it appears),
``NAME:pkg/msg/Type`` (subscribed at once, before any publisher exists) or a pattern with ``*``
(every matching topic, now or later). With no topics, the node records what a policy node reads
and writes: :data:`POLICY_TOPICS`. Names are relative to the node's namespace unless they start
with ``/``. Per-topic counts of messages received and written show what was lost, if anything,
and :meth:`RecorderNode.lost` what the middleware dropped. Each topic is subscribed reliable
when all its publishers are, and anew when they need another QoS (``ros/bag_topics.py``).

Episodes: the services ``~/start_episode`` (``vla_ros/srv/SetInstruction``: the instruction)
and ``~/stop_episode`` (``std_srvs/srv/SetBool``: ``data`` is whether the task succeeded) write
markers into the bag, ``std_msgs/msg/String`` messages on ``vla/episode/start`` (the
instruction) and ``vla/episode/stop`` (the outcome), stamped like the recorded messages;
``vla_ros.data.episodes`` splits the bag at them.

Parameters (read-only): ``output`` (bag directory to create; default
``rosbag2_<date>-<time>``), ``storage`` (``sqlite3`` or ``mcap``), ``bag_version`` (8 or 9),
``topics``, ``discovery_timeout_s`` (warn about topics still missing after this long).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
import functools
import threading
import time
from typing import Any, Literal

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.event_handler import (
    QoSMessageLostInfo,
    SubscriptionEventCallbacks,
    UnsupportedEventTypeError,
)
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile
from rclpy.subscription import MessageInfo, Subscription
from rclpy.timer import Timer
from rosbags.interfaces import Qos
from std_srvs.srv import SetBool

from vla_ros.core.errors import ConfigError, DataError
from vla_ros.data.bag_writer import BagWriter, StorageFormat, TopicCounts
from vla_ros.data.episodes import (
    encode_marker,
    EPISODE_START_TOPIC,
    EPISODE_STOP_TOPIC,
    EpisodeOutcome,
    MARKER_TYPE,
)
from vla_ros.ros.bag_topics import (
    bag_qos,
    message_class,
    publication_key,
    RecordedTopic,
    recording_qos,
    reliability_name,
    same_matching,
)
from vla_ros.ros.node_main import run_node
from vla_ros.ros.params import declare_read_only
from vla_ros.srv import SetInstruction

__all__ = ['POLICY_TOPICS', 'RecorderNode', 'TopicRequest', 'main']

#: What a policy node reads and writes, recorded when no topics are given.
POLICY_TOPICS = ('joint_states', '*/image_raw', '*/image_raw/compressed', 'vla/status',
                 '*/joint_trajectory', 'vla/execute/_action/status',
                 'vla/execute/_action/feedback')
#: How often the graph is polled for requested topics that have not appeared yet.
DISCOVERY_PERIOD_S = 0.5
#: How long close() waits for the callbacks under way to hand their messages to the bag.
CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class TopicRequest:
    """One requested topic: a fully qualified name or ``*`` pattern, and maybe its type."""

    pattern: str
    type_name: str | None
    #: Whether recording waits for it (a named topic the user asked for).
    required: bool

    @property
    def is_pattern(self) -> bool:
        """Whether this matches any number of topics."""
        return '*' in self.pattern

    @classmethod
    def parse(cls, spec: str, namespace: str, *, required: bool = True) -> TopicRequest:
        """Read ``NAME``, ``NAME:pkg/msg/Type`` or a pattern, relative to ``namespace``.

        Raises:
            ConfigError: an empty name, or a type that is not ``pkg/kind/Name``.
        """
        name, _, type_name = spec.partition(':')
        if not name or (type_name and type_name.count('/') != 2):
            raise ConfigError(f'topic {spec!r}: expected NAME or NAME:pkg/msg/Type')
        if not name.startswith('/'):
            name = f'{namespace.rstrip("/")}/{name}'
        return cls(name, type_name or None, required and '*' not in name)


class RecorderNode(Node):
    """Writes every message of the requested topics into a new bag until closed."""

    def __init__(self, node_name: str = 'vla_recorder', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        # destroy_node runs even when __init__ fails half-way.
        self._writer: BagWriter | None = None
        self._discovery_timer: Timer | None = None
        declare = functools.partial(declare_read_only, self)
        output = declare('output', '', 'bag directory to create; it must not exist')
        storage = declare('storage', 'sqlite3', 'storage plugin: sqlite3 or mcap')
        version = declare('bag_version', 8, 'rosbag2 metadata version: 8 or 9')
        specs = declare('topics', Parameter.Type.STRING_ARRAY,
                        'NAME, NAME:pkg/msg/Type or pattern; none: the policy topics')
        self._discovery_timeout_s = float(declare(
            'discovery_timeout_s', 5.0, 'warn about topics still missing after this long'))
        self._use_sim_time = bool(self.get_parameter('use_sim_time').value)
        namespace = self.get_namespace()
        self._requests = ([TopicRequest.parse(spec, namespace) for spec in specs] if specs else
                          [TopicRequest.parse(spec, namespace, required=False)
                           for spec in POLICY_TOPICS])
        self._writer = BagWriter(
            str(output) or datetime.now().strftime('rosbag2_%Y_%m_%d-%H_%M_%S'),
            storage=_storage(str(storage)), version=_bag_version(version))
        self._changed = threading.Condition()
        self._closing = False
        self._in_flight = 0  # messages inside _on_message
        self._recordings: dict[str, RecordedTopic] = {}
        self._declared: set[str] = set()
        self._skipped: set[str] = set()
        self._started_s = time.monotonic()
        self._warned = False
        for request in self._requests:
            if request.type_name is not None and not request.is_pattern:
                self._subscribe(request.pattern, request.type_name)
        self._marker_topics = (f'{namespace.rstrip("/")}/{EPISODE_START_TOPIC}',
                               f'{namespace.rstrip("/")}/{EPISODE_STOP_TOPIC}')
        self._episode_instruction: str | None = None  # the open episode's, None: none open
        self._episodes = 0
        self._start_episode_srv = self.create_service(SetInstruction, '~/start_episode',
                                                      self._on_start_episode)
        self._stop_episode_srv = self.create_service(SetBool, '~/stop_episode',
                                                     self._on_stop_episode)
        self._discovery_timer = self.create_timer(
            DISCOVERY_PERIOD_S, self._on_discovery,
            callback_group=MutuallyExclusiveCallbackGroup())
        self._on_discovery()
        self.get_logger().info(f'recording into {self.bag_path}')

    @property
    def bag_path(self) -> str:
        """The bag directory being written."""
        return str(self._bag.path)

    @property
    def _bag(self) -> BagWriter:
        assert self._writer is not None, 'used after a failed __init__'
        return self._writer

    def counts(self) -> tuple[TopicCounts, ...]:
        """Messages received and written so far, per topic."""
        return self._bag.counts()

    def missing_topics(self) -> list[str]:
        """Named topics the user asked for that are not subscribed yet."""
        with self._changed:
            return [request.pattern for request in self._requests if request.required
                    and request.pattern not in self._recordings
                    and request.pattern not in self._skipped]

    def wait_for_topics(self, timeout_s: float) -> None:
        """Block until every requested topic name is subscribed (the node must be spinning).

        Raises:
            TimeoutError: some topics did not appear in the graph within ``timeout_s``.
        """
        with self._changed:
            if self._changed.wait_for(lambda: not self.missing_topics(), timeout=timeout_s):
                return
        raise TimeoutError(f'topics not in the graph within {timeout_s} s: '
                           f'{", ".join(self.missing_topics())}; give NAME:pkg/msg/Type to '
                           'record a topic before its publisher starts')

    def recorded_topics(self) -> dict[str, str]:
        """The topics subscribed so far, with their types."""
        with self._changed:
            return {topic: entry.type_name for topic, entry in self._recordings.items()}

    def lost(self) -> dict[str, int]:
        """Messages the middleware reports lost on the way, per topic (best effort drops)."""
        with self._changed:
            return {topic: entry.lost for topic, entry in self._recordings.items()}

    def close(self) -> tuple[TopicCounts, ...]:
        """Unsubscribe, let the callbacks under way write their messages, finish the bag.

        A message that reaches a callback after this is counted as received, not written.
        """
        with self._changed:
            self._closing = True
            subscriptions = [sub for entry in self._recordings.values()
                             for sub in (entry.subscription, entry.retiring) if sub is not None]
        if self._discovery_timer is not None:
            self._discovery_timer.cancel()
        for subscription in subscriptions:
            self.destroy_subscription(subscription)
        with self._changed:
            if not self._changed.wait_for(lambda: self._in_flight == 0,
                                          timeout=CLOSE_TIMEOUT_S):
                self.get_logger().warning(f'{self._in_flight} messages still being handled '
                                          f'after {CLOSE_TIMEOUT_S} s; closing the bag anyway')
        return self._bag.close()

    def destroy_node(self) -> None:
        """Finish the bag, then go away."""
        if self._writer is not None:
            self.close()
        super().destroy_node()

    @property
    def episodes_started(self) -> int:
        """Episodes started so far with ``~/start_episode``."""
        return self._episodes

    def _on_start_episode(self, request: SetInstruction.Request,
                          response: SetInstruction.Response) -> SetInstruction.Response:
        instruction = request.instruction.strip()
        if self._episode_instruction is not None:
            response.message = (f'episode {self._episodes - 1} ({self._episode_instruction!r}) '
                                'is still open; stop it first')
        elif not instruction:
            response.message = 'instruction is empty; say what the episode demonstrates'
        elif self._write_marker(self._marker_topics[0], instruction):
            self._episode_instruction = instruction
            self._episodes += 1
            response.accepted = True
            response.message = f'episode {self._episodes - 1} started: {instruction!r}'
        else:
            response.message = 'the bag is closed or failed; no episode started'
        self.get_logger().info(response.message)
        return response

    def _on_stop_episode(self, request: SetBool.Request,
                         response: SetBool.Response) -> SetBool.Response:
        outcome = EpisodeOutcome.SUCCEEDED if request.data else EpisodeOutcome.FAILED
        if self._episode_instruction is None:
            response.message = 'no episode is open; start one first'
        elif self._write_marker(self._marker_topics[1], outcome.value):
            self._episode_instruction = None
            response.success = True
            response.message = f'episode {self._episodes - 1} stopped: {outcome.value}'
        else:
            response.message = 'the bag is closed or failed; the episode stays open'
        self.get_logger().info(response.message)
        return response

    def _write_marker(self, topic: str, text: str) -> bool:
        """Write one episode marker, stamped now; whether the bag took it."""
        if self._bag.closed:
            return False
        try:
            self._bag.write(topic, MARKER_TYPE, self.get_clock().now().nanoseconds,
                            encode_marker(text))
        except DataError as err:
            self.get_logger().error(str(err))
            return False
        return True

    def _on_discovery(self) -> None:
        for name, types in self.get_topic_names_and_types():
            if name in self._recordings or name in self._skipped:
                continue
            if any(fnmatchcase(name, request.pattern) for request in self._requests):
                if len(types) > 1:
                    self.get_logger().warning(f'{name}: several types {types}; recording '
                                              f'{types[0]}')
                self._subscribe(name, types[0])
        for topic in list(self._recordings):
            self._review_qos(topic)
        missing = self.missing_topics()
        if (missing and not self._warned
                and time.monotonic() - self._started_s > self._discovery_timeout_s):
            self._warned = True
            self.get_logger().warning(f'still waiting for topics: {", ".join(missing)}')

    def _subscribe(self, topic: str, type_name: str) -> None:
        try:
            msg_type = message_class(type_name)
        except ConfigError as err:
            self.get_logger().error(f'{topic}: not recorded: {err}')
            with self._changed:
                self._skipped.add(topic)
                self._changed.notify_all()
            return
        qos = recording_qos(self._offers(topic))
        with self._changed:
            if self._closing:
                return
            subscription = self._raw_subscription(topic, msg_type, qos)
            self._recordings[topic] = RecordedTopic(type_name, msg_type, qos, subscription)
            self._changed.notify_all()
        self.get_logger().info(f'recording {topic} ({type_name}, {reliability_name(qos)})')

    def _review_qos(self, topic: str) -> None:
        """Subscribe anew when the publishers need another QoS; retire the old subscription."""
        entry, offers = self._recordings[topic], self._offers(topic)
        with self._changed:  # close() destroys what is left
            retiring = None if self._closing else entry.retire(len(offers))
        if retiring is not None:
            self.destroy_subscription(retiring)
        wanted = recording_qos(offers)
        if entry.retiring is not None or not offers or same_matching(wanted, entry.qos):
            return
        self.get_logger().info(f'{topic}: publishers now need {reliability_name(wanted)}; '
                               f'subscribing again (was {reliability_name(entry.qos)})')
        with self._changed:
            if not self._closing:
                entry.replace(self._raw_subscription(topic, entry.msg_type, wanted), wanted)

    def _offers(self, topic: str) -> list[Qos]:
        return [bag_qos(info.qos_profile) for info in self.get_publishers_info_by_topic(topic)]

    def _raw_subscription(self, topic: str, msg_type: type, qos: QoSProfile
                          ) -> Subscription[Any]:
        # One group per topic: its messages are written in order, topics in parallel.
        options: dict[str, Any] = {'raw': True, 'callback_group': MutuallyExclusiveCallbackGroup()}
        callback, lost = functools.partial(self._on_message, topic), SubscriptionEventCallbacks(
            message_lost=functools.partial(self._on_lost, topic),
            incompatible_qos=lambda _: None)  # not rclpy's warning: _review_qos resubscribes
        try:
            return self.create_subscription(msg_type, topic, callback, qos,
                                            event_callbacks=lost, **options)
        except UnsupportedEventTypeError:  # a middleware that does not report lost messages
            return self.create_subscription(msg_type, topic, callback, qos, **options)

    def _on_lost(self, topic: str, info: QoSMessageLostInfo) -> None:
        with self._changed:
            self._recordings[topic].lost += info.total_count_change

    def _on_message(self, topic: str, data: bytes, info: MessageInfo) -> None:
        # The middleware's receive time (system clock); the node's clock under use_sim_time.
        stamp_ns = (0 if self._use_sim_time else info['received_timestamp']
                    ) or self.get_clock().now().nanoseconds
        with self._changed:  # close() waits for this message to be handed to the bag
            entry = self._recordings[topic]
            if entry.is_duplicate(publication_key(info)):
                return
            self._in_flight += 1
        try:
            if topic not in self._declared:
                self._declared.add(topic)
                self._bag.add_topic(topic, entry.type_name, offered_qos=self._offers(topic))
            self._bag.write(topic, entry.type_name, stamp_ns, data)
        except DataError as err:
            self.get_logger().error(str(err), throttle_duration_sec=5.0)
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()


def _storage(value: str) -> StorageFormat:
    try:
        return StorageFormat(value)
    except ValueError:
        choices = ', '.join(storage.value for storage in StorageFormat)
        raise ConfigError(f'parameter storage: {value!r} is not one of {choices}') from None


def _bag_version(value: object) -> Literal[8, 9]:
    if value in (8, 9):
        return 8 if value == 8 else 9
    raise ConfigError(f'parameter bag_version: {value!r}; expected 8 (Humble and later) or 9')


def main(args: list[str] | None = None) -> int:
    """Entry point: record until Ctrl-C."""
    return run_node(RecorderNode, name='vla_recorder', args=args)


if __name__ == '__main__':
    raise SystemExit(main())

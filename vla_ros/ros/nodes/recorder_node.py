# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The recorder: topics -> a rosbag2 bag, as the serialized bytes that arrived.

Subscriptions are raw (``raw=True``): a message is never deserialized, only stamped with its
receive time and handed to :class:`~vla_ros.data.BagWriter`. A topic is given as ``NAME`` (its
type is looked up in the graph, which is polled until it appears), ``NAME:pkg/msg/Type``
(subscribed at once, before any publisher exists) or a pattern with ``*`` (every matching topic,
now or later). With no topics, the node records what a policy node reads and writes:
:data:`POLICY_TOPICS`. Names are relative to the node's namespace unless they start with ``/``.

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

from rcl_interfaces.msg import ParameterDescriptor, ParameterType
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.subscription import MessageInfo

from vla_ros.core.errors import ConfigError, DataError
from vla_ros.data.bag_writer import BagWriter, StorageFormat, TopicCounts
from vla_ros.ros.bag_topics import bag_qos, message_class, recording_qos

__all__ = ['POLICY_TOPICS', 'RecorderNode', 'TopicRequest', 'main']

#: What a policy node reads and writes, recorded when no topics are given.
POLICY_TOPICS = ('joint_states', '*/image_raw', '*/image_raw/compressed', 'vla/status',
                 '*/joint_trajectory', 'vla/execute/_action/status',
                 'vla/execute/_action/feedback')
#: How often the graph is polled for requested topics that have not appeared yet.
DISCOVERY_PERIOD_S = 0.5


@dataclass(frozen=True, slots=True)
class TopicRequest:
    """One requested topic: a fully qualified name or ``*`` pattern, and maybe its type."""

    pattern: str
    type_name: str | None

    @property
    def is_pattern(self) -> bool:
        """Whether this matches any number of topics."""
        return '*' in self.pattern

    @classmethod
    def parse(cls, spec: str, namespace: str) -> TopicRequest:
        """Read ``NAME``, ``NAME:pkg/msg/Type`` or a pattern, relative to ``namespace``.

        Raises:
            ConfigError: an empty name, or a type that is not ``pkg/kind/Name``.
        """
        name, _, type_name = spec.partition(':')
        if not name or (type_name and type_name.count('/') != 2):
            raise ConfigError(f'topic {spec!r}: expected NAME or NAME:pkg/msg/Type')
        if not name.startswith('/'):
            name = f'{namespace.rstrip("/")}/{name}'
        return cls(name, type_name or None)


class RecorderNode(Node):
    """Writes every message of the requested topics into a new bag until closed."""

    def __init__(self, node_name: str = 'vla_recorder', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        output = self._declare('output', '', 'bag directory to create; it must not exist')
        storage = self._declare('storage', 'sqlite3', 'storage plugin: sqlite3 or mcap')
        version = self._declare('bag_version', 8, 'rosbag2 metadata version: 8 or 9')
        specs = self._declare('topics', [], 'NAME, NAME:pkg/msg/Type or pattern; none: '
                              'the policy topics', ParameterType.PARAMETER_STRING_ARRAY)
        self._discovery_timeout_s = float(self._declare(
            'discovery_timeout_s', 5.0, 'warn about topics still missing after this long'))
        self._requests = [TopicRequest.parse(spec, self.get_namespace())
                          for spec in (list(specs) or POLICY_TOPICS)]
        self._writer = BagWriter(
            str(output) or datetime.now().strftime('rosbag2_%Y_%m_%d-%H_%M_%S'),
            storage=_storage(str(storage)), version=_bag_version(version))
        self._changed = threading.Condition()
        self._subscriptions: dict[str, str] = {}  # topic -> type
        self._declared: set[str] = set()
        self._skipped: set[str] = set()
        self._started_s = time.monotonic()
        self._warned = False
        for request in self._requests:
            if request.type_name is not None and not request.is_pattern:
                self._subscribe(request.pattern, request.type_name)
        self._discovery_timer = self.create_timer(
            DISCOVERY_PERIOD_S, self._on_discovery,
            callback_group=MutuallyExclusiveCallbackGroup())
        self._on_discovery()
        self.get_logger().info(f'recording into {self._writer.path}')

    @property
    def bag_path(self) -> str:
        """The bag directory being written."""
        return str(self._writer.path)

    def counts(self) -> tuple[TopicCounts, ...]:
        """Messages received and written so far, per topic."""
        return self._writer.counts()

    def missing_topics(self) -> list[str]:
        """Requested topic names (not patterns) that are not subscribed yet."""
        with self._changed:
            return [request.pattern for request in self._requests if not request.is_pattern
                    and request.pattern not in self._subscriptions
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

    def close(self) -> tuple[TopicCounts, ...]:
        """Stop recording and finish the bag; later messages are counted, not written."""
        self._discovery_timer.cancel()
        return self._writer.close()

    def destroy_node(self) -> None:
        """Finish the bag, then go away."""
        self.close()
        super().destroy_node()

    def _on_discovery(self) -> None:
        for name, types in self.get_topic_names_and_types():
            if name in self._subscriptions or name in self._skipped:
                continue
            if any(fnmatchcase(name, request.pattern) for request in self._requests):
                if len(types) > 1:
                    self.get_logger().warning(f'{name}: several types {types}; recording '
                                              f'{types[0]}')
                self._subscribe(name, types[0])
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
        offers = [bag_qos(info.qos_profile) for info in self.get_publishers_info_by_topic(topic)]
        self.create_subscription(
            msg_type, topic, functools.partial(self._on_message, topic, type_name),
            recording_qos(type_name, offers), raw=True,
            # One group per topic: a topic's messages are written in order, topics in parallel.
            callback_group=MutuallyExclusiveCallbackGroup())
        with self._changed:
            self._subscriptions[topic] = type_name
            self._changed.notify_all()
        self.get_logger().info(f'recording {topic} ({type_name})')

    def _on_message(self, topic: str, type_name: str, data: bytes, info: MessageInfo) -> None:
        stamp_ns = info['received_timestamp'] or self.get_clock().now().nanoseconds
        try:
            if topic not in self._declared:
                self._declared.add(topic)
                self._writer.add_topic(topic, type_name, offered_qos=[
                    bag_qos(pub.qos_profile)
                    for pub in self.get_publishers_info_by_topic(topic)])
            self._writer.write(topic, type_name, stamp_ns, data)
        except DataError as err:
            self.get_logger().error(str(err), throttle_duration_sec=5.0)

    def _declare(self, name: str, default: Any, description: str,
                 type_: int = ParameterType.PARAMETER_NOT_SET) -> Any:
        descriptor = ParameterDescriptor(description=description, read_only=True, type=type_)
        return self.declare_parameter(name, default, descriptor).value


def _storage(value: str) -> StorageFormat:
    try:
        return StorageFormat(value)
    except ValueError:
        choices = ', '.join(storage.value for storage in StorageFormat)
        raise ConfigError(f'parameter storage: {value!r} is not one of {choices}') from None


def _bag_version(value: object) -> Literal[8, 9]:
    if value == 8:
        return 8
    if value == 9:
        return 9
    raise ConfigError(f'parameter bag_version: {value!r}; expected 8 (Humble and later) or 9')


def main(args: list[str] | None = None) -> int:
    """Entry point: record until Ctrl-C."""
    try:
        with rclpy.init(args=args):
            try:
                node = RecorderNode()
            except (ConfigError, DataError) as err:
                print(f'vla_recorder: {err}')
                return 1
            executor = MultiThreadedExecutor()
            executor.add_node(node)
            try:
                executor.spin()
            finally:
                executor.shutdown()
                node.destroy_node()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Record a bag or play one back in this process: the ROS side of `vla-ros record` and `play`.

Each function starts an ``InProcessGraph`` with the recorder or the player node, runs it until
its end or Ctrl-C (``KeyboardInterrupt`` ends the run, not the function), closes the node so
the bag is complete, and answers what was written or published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rclpy.parameter import Parameter

from vla_ros.core.errors import DataError
from vla_ros.data.bag_writer import TopicCounts
from vla_ros.ros.in_process import InProcessGraph, wait_until_interrupted
from vla_ros.ros.nodes.player_node import PlayerNode
from vla_ros.ros.nodes.recorder_node import RecorderNode

__all__ = ['PlayOptions', 'PlaySummary', 'RecordOptions', 'RecordSummary', 'play_bag',
           'record_bag']


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """The recorder node's parameters and how long to record.

    Attributes:
        output: the bag directory to create.
        storage: 'sqlite3' or 'mcap'.
        bag_version: rosbag2 metadata version (8 or 9).
        topics: names, ``NAME:pkg/msg/Type`` or patterns; empty: the policy topics.
        wait_s: how long to wait for named topics to appear in the graph, s.
        duration_s: how long to record, s; None: until Ctrl-C.
    """

    output: str
    storage: str
    bag_version: int
    topics: tuple[str, ...]
    wait_s: float
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """Per topic: messages received and written, and those the middleware reports lost."""

    counts: tuple[TopicCounts, ...]
    lost: dict[str, int]


def record_bag(options: RecordOptions, *, on_recording: Callable[[str], None]) -> RecordSummary:
    """Record until ``duration_s`` or Ctrl-C; ``on_recording(bag_path)`` once topics are there.

    Raises:
        TimeoutError: named topics did not appear within ``wait_s`` (the bag is closed).
    """
    overrides: list[Parameter[Any]] = [Parameter('output', value=options.output),
                                       Parameter('storage', value=options.storage),
                                       Parameter('bag_version', value=options.bag_version)]
    if options.topics:  # rclpy types an empty list as bytes; unset means the policy topics
        overrides.append(Parameter('topics', value=list(options.topics)))
    with InProcessGraph() as graph:
        recorder = graph.add(RecorderNode, parameter_overrides=overrides)
        try:
            recorder.wait_for_topics(options.wait_s)
            on_recording(recorder.bag_path)
            wait_until_interrupted(options.duration_s)
        except KeyboardInterrupt:
            pass
        finally:
            counts = recorder.close()
            lost = recorder.lost()
    return RecordSummary(counts=counts, lost=lost)


@dataclass(frozen=True, slots=True)
class PlayOptions:
    """The player node's parameters.

    Attributes:
        bag: bag directory, or a .db3 or .mcap file.
        rate: speed factor.
        loop: play again and again until Ctrl-C.
        clock_rate_hz: /clock rate from the bag's time; 0: no /clock.
        wait_for_subscribers_s: wait up to this long for every topic to have a subscriber, s.
        discovery_timeout_s: before the first message, wait up to this long for discovery, s;
            None: the node's default.
        remap: ``FROM:=TO`` topic renames.
    """

    bag: str
    rate: float
    loop: bool
    clock_rate_hz: float
    wait_for_subscribers_s: float
    discovery_timeout_s: float | None
    remap: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlaySummary:
    """Messages published per topic, and why playback stopped early (None: it did not)."""

    published: dict[str, int]
    error: DataError | None


def play_bag(options: PlayOptions, *, on_playing: Callable[[], None]) -> PlaySummary:
    """Play the bag to its end or until Ctrl-C; ``on_playing()`` once the player started."""
    overrides: list[Parameter[Any]] = [
        Parameter('bag', value=options.bag), Parameter('rate', value=float(options.rate)),
        Parameter('loop', value=options.loop),
        Parameter('clock_rate_hz', value=float(options.clock_rate_hz)),
        Parameter('wait_for_subscribers_s', value=float(options.wait_for_subscribers_s))]
    if options.discovery_timeout_s is not None:
        overrides.append(Parameter('discovery_timeout_s',
                                   value=float(options.discovery_timeout_s)))
    if options.remap:  # rclpy types an empty list as bytes
        overrides.append(Parameter('remap', value=list(options.remap)))
    with InProcessGraph() as graph:
        player = graph.add(PlayerNode, parameter_overrides=overrides)
        on_playing()
        try:
            player.wait_until_done()
        except KeyboardInterrupt:
            pass
        finally:
            player.stop()
        published = player.published()
        error = player.error
    return PlaySummary(published=published, error=error)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Split a recorded bag into episodes, each with its instruction and outcome.

Two kinds of record mark episodes:

- **markers**: the recorder's ``~/start_episode`` and ``~/stop_episode`` services write a
  ``std_msgs/msg/String`` on ``vla/episode/start`` (the instruction) and on
  ``vla/episode/stop`` (the outcome: ``succeeded``, ``failed`` or ``unknown``). A start
  while an episode is open ends that one (outcome unknown); an episode still open at the end
  of the bag ends with the bag.
- **goals**: each goal of the ``vla/execute`` action, from its status topic
  (``action_msgs/msg/GoalStatusArray``): it starts when the server first lists it and ends when
  it first shows a terminal status; SUCCEEDED is a success, ABORTED a failure, CANCELED (the
  operator's reason is not recorded) or no end in the bag unknown. Without a status topic the
  feedback topic gives each goal's span (start = first feedback - ``elapsed_s``), outcome
  unknown. The instruction is the policy's ``vla/status`` instruction during the goal.

Times are the bag's receive timestamps (ns). Episodes never overlap: one that runs past the
next one's start is cut there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from enum import Enum
import functools
import logging
from typing import Any, TYPE_CHECKING

from rosbags.typesys import get_typestore, Stores

from vla_ros.core.errors import DataError
from vla_ros.data.cdr import deserialize

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore

    from vla_ros.data.bag_reader import BagMessage, BagReader

__all__ = ['EPISODE_START_TOPIC', 'EPISODE_STOP_TOPIC', 'MARKER_TYPE', 'EpisodeOutcome',
           'EpisodeSource', 'EpisodeSpan', 'encode_marker', 'split_episodes']

_LOGGER = logging.getLogger(__name__)
#: Topics (relative to the recorder's namespace) and type of the episode markers.
EPISODE_START_TOPIC = 'vla/episode/start'
EPISODE_STOP_TOPIC = 'vla/episode/stop'
MARKER_TYPE = 'std_msgs/msg/String'
_STATUS_TOPIC = 'vla/execute/_action/status'
_FEEDBACK_TOPIC = 'vla/execute/_action/feedback'
_POLICY_STATUS_TOPIC = 'vla/status'
#: action_msgs/msg/GoalStatus constants.
_SUCCEEDED, _CANCELED, _ABORTED = 4, 5, 6


class EpisodeOutcome(Enum):
    """How an episode ended; the value is how files and markers spell it."""

    SUCCEEDED = 'succeeded'
    FAILED = 'failed'
    UNKNOWN = 'unknown'

    @classmethod
    def parse(cls, text: str, *, where: str) -> EpisodeOutcome:
        """The outcome spelled ``text``; DataError naming ``where`` otherwise."""
        try:
            return cls(text)
        except ValueError:
            choices = ', '.join(outcome.value for outcome in cls)
            raise DataError(f'{where}: outcome {text!r}, expected one of {choices}') from None


class EpisodeSource(Enum):
    """What marks the episodes of a bag."""

    AUTO = 'auto'  # markers if the bag has any, else goals, else the whole bag
    MARKERS = 'markers'
    GOALS = 'goals'
    WHOLE_BAG = 'whole-bag'


@dataclass(frozen=True, slots=True)
class EpisodeSpan:
    """One episode of a bag: a time span and what was asked and achieved in it.

    Attributes:
        start_ns: first receive timestamp inside the episode, ns since the epoch.
        end_ns: last receive timestamp inside it (inclusive), ns.
        instruction: the language instruction; empty when the bag does not say.
        outcome: how it ended.
        source: what marked it.
    """

    start_ns: int
    end_ns: int
    instruction: str
    outcome: EpisodeOutcome
    source: EpisodeSource

    @property
    def duration_s(self) -> float:
        """From start to end, seconds."""
        return (self.end_ns - self.start_ns) * 1e-9


@functools.cache
def _standard_types() -> Typestore:
    return get_typestore(Stores.ROS2_KILTED)


def encode_marker(text: str) -> bytes:
    """The CDR bytes of a ``std_msgs/msg/String`` marker holding ``text``."""
    types = _standard_types()
    message = types.types[MARKER_TYPE](data=text)
    return bytes(types.serialize_cdr(message, MARKER_TYPE))


def split_episodes(reader: BagReader, typestore: Typestore, *,
                   source: EpisodeSource = EpisodeSource.AUTO) -> tuple[EpisodeSpan, ...]:
    """The episodes of the bag in ``reader``, in time order.

    Args:
        reader: the open bag.
        typestore: knows the bag's message types (``MessageTypes().typestore``).
        source: what marks the episodes; AUTO takes the first of markers, goals, whole bag.

    Raises:
        DataError: the bag lacks the requested kind of record, or a marker is malformed.
    """
    info = reader.info
    topics = {topic.topic: topic.type_name for topic in info.topics}
    bag_end_ns = info.start_ns + info.duration_ns
    found: tuple[EpisodeSpan, ...] = ()
    if source in (EpisodeSource.AUTO, EpisodeSource.MARKERS):
        found = _from_markers(reader, typestore, _matching(topics, EPISODE_START_TOPIC),
                              _matching(topics, EPISODE_STOP_TOPIC), bag_end_ns)
    if not found and source in (EpisodeSource.AUTO, EpisodeSource.GOALS):
        found = _from_goals(reader, typestore, topics, bag_end_ns)
    if not found and source in (EpisodeSource.AUTO, EpisodeSource.WHOLE_BAG):
        found = (EpisodeSpan(info.start_ns, bag_end_ns, '', EpisodeOutcome.UNKNOWN,
                             EpisodeSource.WHOLE_BAG),) if info.message_count else ()
    if not found and source is not EpisodeSource.AUTO:
        raise DataError(f'{info.path}: no episodes marked by {source.value} in the bag')
    if any(span.source is not EpisodeSource.MARKERS for span in found):
        found = _with_policy_instructions(reader, typestore, topics, found)
    return _without_overlaps(found)


def _matching(topics: dict[str, str], suffix: str) -> list[str]:
    """The bag's topics named ``suffix`` in any namespace."""
    return [topic for topic in topics if topic == f'/{suffix}' or topic.endswith(f'/{suffix}')]


def _decoded(reader: BagReader, typestore: Typestore, topics: Iterable[str]
             ) -> Iterator[tuple[BagMessage, Any]]:
    for message in reader.messages(list(topics)):
        yield message, deserialize(typestore, message.data, message.type_name,
                                   where=f'{reader.path}: {message.topic} at '
                                         f'{message.timestamp_ns} ns')


def _from_markers(reader: BagReader, typestore: Typestore, starts: list[str],
                  stops: list[str], bag_end_ns: int) -> tuple[EpisodeSpan, ...]:
    spans: list[EpisodeSpan] = []
    open_span: EpisodeSpan | None = None
    for message, decoded in _decoded(reader, typestore, starts + stops):
        text = str(decoded.data)
        stamp_ns = message.timestamp_ns
        if message.topic in starts:
            if open_span is not None:
                spans.append(replace(open_span, end_ns=stamp_ns - 1))
            open_span = EpisodeSpan(stamp_ns, bag_end_ns, text, EpisodeOutcome.UNKNOWN,
                                    EpisodeSource.MARKERS)
        elif open_span is None:
            _LOGGER.warning('%s: episode stop at %d ns without a start; ignored', reader.path,
                            stamp_ns)
        else:
            where = f'{reader.path}: {message.topic} at {stamp_ns} ns'
            spans.append(replace(open_span, end_ns=stamp_ns,
                                 outcome=EpisodeOutcome.parse(text, where=where)))
            open_span = None
    if open_span is not None:
        spans.append(open_span)
    return tuple(spans)


@dataclass(slots=True)
class _Goal:
    start_ns: int
    end_ns: int | None = None
    outcome: EpisodeOutcome = EpisodeOutcome.UNKNOWN


_OUTCOMES = {_SUCCEEDED: EpisodeOutcome.SUCCEEDED, _ABORTED: EpisodeOutcome.FAILED,
             _CANCELED: EpisodeOutcome.UNKNOWN}


def _from_goals(reader: BagReader, typestore: Typestore, topics: dict[str, str],
                bag_end_ns: int) -> tuple[EpisodeSpan, ...]:
    goals: dict[bytes, _Goal] = {}
    status_topics = _matching(topics, _STATUS_TOPIC)
    for message, decoded in _decoded(reader, typestore, status_topics):
        for status in decoded.status_list:
            goal = goals.setdefault(bytes(status.goal_info.goal_id.uuid),
                                    _Goal(message.timestamp_ns))
            if goal.end_ns is None and status.status in _OUTCOMES:
                goal.end_ns = message.timestamp_ns
                goal.outcome = _OUTCOMES[status.status]
    if not status_topics:
        for message, decoded in _decoded(reader, typestore, _matching(topics, _FEEDBACK_TOPIC)):
            started_ns = message.timestamp_ns - int(decoded.feedback.elapsed_s * 1e9)
            goal = goals.setdefault(bytes(decoded.goal_id.uuid), _Goal(started_ns))
            goal.end_ns = message.timestamp_ns
    return tuple(EpisodeSpan(goal.start_ns, bag_end_ns if goal.end_ns is None else goal.end_ns,
                             '', goal.outcome, EpisodeSource.GOALS)
                 for goal in sorted(goals.values(), key=lambda goal: goal.start_ns))


def _with_policy_instructions(reader: BagReader, typestore: Typestore, topics: dict[str, str],
                              spans: tuple[EpisodeSpan, ...]) -> tuple[EpisodeSpan, ...]:
    """Each span with the first non-empty policy-status instruction inside it."""
    instructions = [(message.timestamp_ns, str(decoded.instruction)) for message, decoded
                    in _decoded(reader, typestore, _matching(topics, _POLICY_STATUS_TOPIC))
                    if decoded.instruction]
    return tuple(replace(span, instruction=next(
        (text for stamp_ns, text in instructions if span.start_ns <= stamp_ns <= span.end_ns),
        span.instruction)) for span in spans)


def _without_overlaps(spans: tuple[EpisodeSpan, ...]) -> tuple[EpisodeSpan, ...]:
    ordered = sorted(spans, key=lambda span: span.start_ns)
    return tuple(replace(span, end_ns=min(span.end_ns, later.start_ns - 1))
                 for span, later in zip(ordered, ordered[1:])) + tuple(ordered[-1:])

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Message definitions for bags: a ROS 2 distro's standard types plus types read from disk.

rosbag2 stores each topic's message definition and RIHS01 type hash next to the data, so that
a bag can be read without the ROS packages. rosbags knows the standard interfaces of each
distro; every other type (``vla_ros/msg/PolicyStatus``, the ``ExecuteInstruction`` action's
messages, a robot's own messages) is parsed from its ``.msg`` or ``.action`` file, found under
``share/<package>/`` of the ament prefixes (``AMENT_PREFIX_PATH``) or, for vla_ros itself, in
the checkout this module lives in.
"""

from __future__ import annotations

from enum import Enum
import os
from pathlib import Path
import re
import threading
from typing import TYPE_CHECKING

from rosbags.interfaces import Nodetype
from rosbags.typesys import get_types_from_msg, get_typestore, Stores, TypesysError

from vla_ros.core.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from rosbags.interfaces.typing import Constdefs, Fielddefs, Typesdict
    from rosbags.typesys.store import Typestore

__all__ = ['MessageTypes', 'RosDistro', 'default_share_dirs']

#: The checkout that holds vla_ros's msg/ and action/ (reached through a symlink install).
_SOURCE_ROOT = Path(__file__).resolve().parents[2]
_OWN_PACKAGE = 'vla_ros'
#: The messages an action ``pkg/action/Name`` defines, by the suffix of their type name.
_ACTION_PARTS = ('Goal', 'Result', 'Feedback')


class RosDistro(Enum):
    """The ROS 2 distributions whose standard message definitions a bag may carry."""

    HUMBLE = 'humble'
    JAZZY = 'jazzy'
    KILTED = 'kilted'


_STORES = {RosDistro.HUMBLE: Stores.ROS2_HUMBLE, RosDistro.JAZZY: Stores.ROS2_JAZZY,
           RosDistro.KILTED: Stores.ROS2_KILTED}


def default_share_dirs() -> tuple[Path, ...]:
    """The ``share`` directories of the ament prefixes in ``AMENT_PREFIX_PATH``, first first."""
    prefixes = os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep)
    return tuple(Path(prefix) / 'share' for prefix in prefixes if prefix)


class MessageTypes:
    """A rosbags typestore that learns a type from its definition file on first use.

    Thread-safe: the recorder asks for types from several executor threads.
    """

    def __init__(self, distro: RosDistro = RosDistro.KILTED, *,
                 share_dirs: Sequence[Path] | None = None) -> None:
        """Start from ``distro``'s standard types and register vla_ros's own interfaces.

        Args:
            distro: whose standard definitions (and so type hashes) to use.
            share_dirs: where ``<package>/msg/<Name>.msg`` files are looked up; defaults to
                :func:`default_share_dirs`.
        """
        self.typestore: Typestore = get_typestore(_STORES[distro])
        self._share_dirs = tuple(default_share_dirs() if share_dirs is None else share_dirs)
        self._lock = threading.Lock()
        #: The definition text of each type read from a file, as rosbag2 stores it.
        self._texts: dict[str, str] = {}
        for kind in ('msg', 'action'):
            for path in self._own_definition_files(kind):
                names = ([f'{path.stem}_{part}' for part in _ACTION_PARTS] if kind == 'action'
                         else [path.stem])
                for name in names:
                    self.ensure(f'{_OWN_PACKAGE}/{kind}/{name}')

    def ensure(self, type_name: str) -> None:
        """Make ``type_name`` (``pkg/msg/Name``) and every type it contains known.

        Raises:
            DataError: a definition file is missing or does not parse; nothing is registered.
        """
        with self._lock:
            found: dict[str, tuple[Typesdict, str]] = {}
            pending = [type_name]
            while pending:
                name = pending.pop()
                if name in self.typestore.fielddefs or name in found:
                    continue
                for loaded_name, loaded in self._load(name, requested_as=type_name).items():
                    found[loaded_name] = loaded
                    pending.extend(_referenced_types(loaded[0][loaded_name]))
                if name not in found:
                    raise DataError(f'message type {type_name!r}: {name!r} is not defined in '
                                    'the definition file of its package')
            for name, (types, text) in found.items():
                self.typestore.register(types)
                self._texts[name] = text

    def definition(self, type_name: str) -> tuple[str, str]:
        """The rosbag2 message definition (``ros2msg`` text) and RIHS01 hash of ``type_name``.

        The text is the type's own definition followed by each type it contains, as
        ``MSG: pkg/Name`` sections; the same layout rosbag2 and rosbags write.

        Raises:
            DataError: the type or one it contains is unknown.
        """
        self.ensure(type_name)
        with self._lock:
            separator = '=' * 80 + '\n'
            nested = self._nested_types(type_name)
            sections = [self._own_text(type_name)] + [
                f'MSG: {_short_name(name)}\n{self._own_text(name)}' for name in nested]
            return separator.join(sections), self.typestore.hash_rihs01(type_name)

    def _own_text(self, type_name: str) -> str:
        """The definition of ``type_name`` alone, without the types it contains."""
        text = self._texts.get(type_name)
        if text is None:
            text = self.typestore.generate_msgdef(type_name, ros_version=2)[0]
            text = text.split('=' * 80 + '\n', 1)[0]
        return text if text.endswith('\n') else f'{text}\n'

    def _nested_types(self, type_name: str) -> list[str]:
        """The types ``type_name`` contains, at any depth, each once, depth first."""
        nested: list[str] = []
        pending = list(_referenced_types(self.typestore.fielddefs[type_name]))[::-1]
        while pending:
            name = pending.pop()
            if name not in nested:
                nested.append(name)
                pending.extend(list(_referenced_types(self.typestore.fielddefs[name]))[::-1])
        return nested

    def _load(self, type_name: str, *, requested_as: str) -> dict[str, tuple[Typesdict, str]]:
        """The types the definition file of ``type_name`` defines, with their texts."""
        parts = type_name.split('/')
        if len(parts) != 3 or parts[1] not in ('msg', 'action'):
            raise DataError(f'message type {type_name!r}: expected pkg/msg/Name or '
                            'pkg/action/Name_Feedback')
        package, kind, name = parts
        stem = name.rsplit('_', 1)[0] if kind == 'action' else name
        path = self._find(package, kind, f'{stem}.{kind}')
        if path is None:
            where = ', '.join(str(share) for share in self._share_dirs) or 'no AMENT_PREFIX_PATH'
            raise DataError(f'message type {requested_as!r}: no definition of {type_name!r} '
                            f'({package}/{kind}/{stem}.{kind}) in {where}')
        try:
            text = path.read_text()
            texts = ({type_name: text} if kind == 'msg'
                     else _action_texts(f'{package}/action/{stem}', text))
            return {name: (get_types_from_msg(text, name), text) for name, text in texts.items()}
        except (OSError, TypesysError) as err:
            raise DataError(f'message type {requested_as!r}: cannot parse {path}: {err}') from err

    def _find(self, package: str, kind: str, file_name: str) -> Path | None:
        candidates = [share / package / kind / file_name for share in self._share_dirs]
        if package == _OWN_PACKAGE:
            candidates.append(_SOURCE_ROOT / kind / file_name)
        return next((path for path in candidates if path.is_file()), None)

    def _own_definition_files(self, kind: str) -> list[Path]:
        for directory in [share / _OWN_PACKAGE / kind for share in self._share_dirs] + [
                _SOURCE_ROOT / kind]:
            if directory.is_dir():
                return sorted(directory.glob(f'*.{kind}'))
        return []


def _action_texts(action: str, text: str) -> dict[str, str]:
    """The Goal, Result, Feedback and FeedbackMessage definitions of an ``.action`` file."""
    sections = re.split(r'^---[ \t]*$\n?', text, flags=re.MULTILINE)
    if len(sections) != len(_ACTION_PARTS):
        raise TypesysError(f'expected {len(_ACTION_PARTS)} sections separated by ---, '
                           f'got {len(sections)}')
    texts = {f'{action}_{part}': section for part, section in zip(_ACTION_PARTS, sections)}
    # What an action server publishes on <action>/_action/feedback.
    texts[f'{action}_FeedbackMessage'] = (
        f'unique_identifier_msgs/UUID goal_id\n{action}_Feedback feedback\n')
    return texts


def _short_name(type_name: str) -> str:
    """``pkg/Name`` for messages, as .msg files write them; action types keep their kind."""
    package, kind, name = type_name.split('/')
    return f'{package}/{name}' if kind == 'msg' else type_name


def _referenced_types(definition: tuple[Constdefs, Fielddefs]) -> Iterator[str]:
    """The message types a definition's fields refer to, directly or as array elements."""
    for _field_name, description in definition[1]:
        if description[0] in (Nodetype.ARRAY, Nodetype.SEQUENCE):
            element = description[1][0]
            if element[0] == Nodetype.NAME:
                yield element[1]
        elif description[0] == Nodetype.NAME:
            yield description[1]

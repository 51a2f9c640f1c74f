# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The policy families by name: what ``policy.family`` in a config and ``--family`` may say.

One enum for the config, the registry (``vla_ros.policies.registry``: family -> loader
module) and the verbs (``vla-ros train``, ``random-checkpoint``, ``serve``). Its values are
the names users write in YAML and on the command line. It is a ``StrEnum``, so a member
equals its name (``PolicyFamily.FLOW == 'flow'``) and prints as it (``f'{family}'`` is
``flow``, ``f'{family!r}'`` is ``'flow'``): messages and parameters keep their words.
"""

from __future__ import annotations

import enum

from vla_ros.core.errors import ConfigError

__all__ = ['PolicyFamily']


class PolicyFamily(enum.StrEnum):
    """A registered policy family.

    Local families load a checkpoint folder; remote ones (``is_remote``) are clients of a
    policy server named by ``policy.server``.
    """

    FLOW = 'flow'
    TOKENS = 'tokens'
    FAST = 'fast'
    DIFFUSION = 'diffusion'
    PI05 = 'pi05'
    OPENPI = 'openpi'
    GROOT = 'groot'
    OPENVLA = 'openvla'

    def __repr__(self) -> str:
        """The name in quotes, as messages that quote the family have always shown it."""
        return repr(self.value)

    @property
    def is_remote(self) -> bool:
        """Whether the family is a client of a policy server (no checkpoint, no torch)."""
        return self in _REMOTE

    @classmethod
    def parse(cls, name: str, where: str = 'policy.family') -> PolicyFamily:
        """The family called ``name``.

        Raises:
            ConfigError: no family has that name; naming ``where`` and the known names.
        """
        try:
            return cls(name)
        except ValueError as err:
            local = [family.value for family in cls if not family.is_remote]
            remote = [family.value for family in cls if family.is_remote]
            raise ConfigError(f'{where}: {name!r} is not registered; known: {sorted(local)} '
                              f'and remote {sorted(remote)}') from err


_REMOTE = frozenset({PolicyFamily.OPENPI, PolicyFamily.GROOT, PolicyFamily.OPENVLA})

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Checks on the language instruction a user sends."""

from __future__ import annotations

import unicodedata

from vla_ros.core.errors import InputError

__all__ = ['MAX_INSTRUCTION_CHARS', 'normalize_instruction']

MAX_INSTRUCTION_CHARS = 1000


def normalize_instruction(instruction: str) -> str:
    """Return the instruction with surrounding whitespace removed.

    Raises:
        InputError: empty or whitespace-only, too long, or containing control characters.
    """
    text = instruction.strip()
    if not text:
        raise InputError('instruction is empty; send a task such as "touch the red cube"')
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise InputError(
            f'instruction has {len(text)} characters, more than {MAX_INSTRUCTION_CHARS}')
    if any(unicodedata.category(char) == 'Cc' and char not in '\t\n' for char in text):
        raise InputError(f'instruction contains control characters: {text!r}')
    return text

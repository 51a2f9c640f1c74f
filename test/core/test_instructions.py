# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Language instructions: whitespace stripped, empty, overlong and control characters refused."""

from __future__ import annotations

import pytest

from vla_ros.core.errors import InputError
from vla_ros.core.instructions import MAX_INSTRUCTION_CHARS, normalize_instruction


@pytest.mark.parametrize(('raw', 'expected'), [
    ('touch the red cube', 'touch the red cube'),
    ('  touch the red cube \n', 'touch the red cube'),
    ('\t pick up the cup\r\n', 'pick up the cup'),
    ('pick up the cup\nthen put it down', 'pick up the cup\nthen put it down'),
    ('stack\tthe blocks', 'stack\tthe blocks'),
    ('greife den Würfel', 'greife den Würfel'),
    (' ' + 'x' * MAX_INSTRUCTION_CHARS + ' ', 'x' * MAX_INSTRUCTION_CHARS),
], ids=['plain', 'surrounding-whitespace', 'crlf-at-end', 'inner-newline', 'inner-tab',
        'non-ascii', 'exactly-the-limit'])
def test_valid_instruction_is_returned_stripped(raw: str, expected: str) -> None:
    assert normalize_instruction(raw) == expected


@pytest.mark.parametrize(('raw', 'match'), [
    ('', r'instruction is empty'),
    ('   \t\n ', r'instruction is empty'),
    ('x' * (MAX_INSTRUCTION_CHARS + 1), rf'{MAX_INSTRUCTION_CHARS + 1} characters, more than '
                                        rf'{MAX_INSTRUCTION_CHARS}'),
    ('pick\x00up', r'control characters'),
    ('pick \x1b[31mred\x1b[0m', r'control characters'),
    ('pick\rup', r'control characters'),
    ('pick\x7fup', r'control characters'),
    ('pick\x9bup', r'control characters'),
], ids=['empty', 'whitespace-only', 'one-over-the-limit', 'nul', 'ansi-escape',
        'carriage-return-inside', 'delete', 'c1-control'])
def test_unusable_instruction_raises_input_error(raw: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        normalize_instruction(raw)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""pi0-FAST policies: FAST action tokens (DCT, rounding, BPE) decoded by a language model.

Today this package holds the tokenizer alone (numpy and ``tokenizers``, no torch); the model
and processor modules come with the family's registration.
"""

from __future__ import annotations

from vla_ros.policies.fast.dct import dct_ortho, idct_ortho, max_rounding_error
from vla_ros.policies.fast.fast_tokenizer import (
    CONFIG_FILENAME,
    DEFAULT_SCALE,
    FastConfig,
    FastTokenizer,
    TOKENIZER_FILENAME,
)

__all__ = [
    'CONFIG_FILENAME', 'DEFAULT_SCALE', 'FastConfig', 'FastTokenizer', 'TOKENIZER_FILENAME',
    'dct_ortho', 'idct_ortho', 'max_rounding_error',
]

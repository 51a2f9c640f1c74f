# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What a legacy ``fast`` checkpoint stores next to its transformers files (read-only).

``vla_ros_policy.json`` of the old format (``model.py``); training writes LeRobot's layout.

The contract and the normalization are the token families' shared ones
(``vla_ros.policies.tokens.config``); FAST adds the decoding budget, the most ids the model
may generate per chunk, end token included, and whether decoding is length-constrained
(``length_rule.py``). The FAST tokenizer itself (DCT scale, coefficient
range, BPE vocabulary) lives beside it in ``fast_config.json`` and ``fast_tokenizer.json``.
numpy only: this module imports neither torch nor transformers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vla_ros.core.errors import ConfigError
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.checkpoint_json import (
    check_header,
    check_spec,
    CONFIG_FILENAME,
    load_config_file,
    parse_fields,
    spec_from_json,
)
from vla_ros.policies.tokens.config import TokenNormalization

__all__ = ['CONFIG_FILENAME', 'FastPolicyConfig']


@dataclass(frozen=True, slots=True)
class FastPolicyConfig:
    """Everything vla_ros needs about a ``fast`` checkpoint besides the model and tokenizers.

    Attributes:
        spec: the policy's input and output contract.
        normalization: statistics and action space, one entry per joint of ``spec``.
        max_new_tokens: most ids generated per chunk, the end token included; a chunk that
            has not ended by then is malformed.
        state_bins: bins of the normalized state written into the prompt.
        length_constrained: decode only FAST ids that keep the chunk at exactly
            chunk_length x joints coefficients (``length_rule.py``). False (the default)
            decodes freely, as pi0-FAST does, and a malformed sequence is an error, so the
            robot holds; True always yields a well-formed chunk, but where the model would
            have erred that chunk can be far off (coefficients land on the wrong dimension).
    """

    spec: PolicySpec
    normalization: TokenNormalization
    max_new_tokens: int
    state_bins: int = 256
    length_constrained: bool = False

    def __post_init__(self) -> None:
        check_spec(self.spec)
        self.normalization.check_width(len(self.spec.joint_names))
        for key, minimum in (('max_new_tokens', 1), ('state_bins', 2)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f'{key}: {value!r}, expected an integer >= {minimum}')
        if not isinstance(self.length_constrained, bool):
            raise ConfigError(
                f'length_constrained: {self.length_constrained!r}, expected true or false')

    @classmethod
    def from_json(cls, raw: Any) -> FastPolicyConfig:
        """Build and validate from the parsed JSON mapping.

        Raises:
            ConfigError: a missing, unknown or invalid field; the message gives its path.
        """
        check_header(raw, 'fast')
        fields = parse_fields(raw, '', required={
            'schema_version', 'family', 'spec', 'normalization', 'max_new_tokens',
            'state_bins'}, optional=frozenset({'length_constrained'}))
        return cls(spec=spec_from_json(fields['spec']),
                   normalization=TokenNormalization.from_json(fields['normalization']),
                   max_new_tokens=fields['max_new_tokens'], state_bins=fields['state_bins'],
                   length_constrained=fields.get('length_constrained', False))

    @classmethod
    def load(cls, checkpoint_dir: Path) -> FastPolicyConfig:
        """Read and validate ``vla_ros_policy.json`` from ``checkpoint_dir``.

        Raises:
            ConfigError: the file is missing, not JSON, or holds an invalid field.
        """
        return load_config_file(checkpoint_dir, cls.from_json)

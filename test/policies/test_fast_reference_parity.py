# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Our released-FAST tokenizer against the released code's own output (issue 12 item 7).

``test/fixtures/fast_reference`` was made by ``tools/make_fast_fixture.py``, which ran the
reference ``UniversalActionProcessor`` (``processing_action_tokenizer.py`` of
``physical-intelligence/fast``) in a throwaway environment (transformers 4.48.3, tokenizers
0.21.4, scipy 1.17.1, numpy 2.2.6): its ``fit`` and ``save_pretrained`` wrote ``tokenizer/``,
its ``__call__`` the token ids of twelve held-out chunks and its ``decode`` their chunks. Ours
reads that folder as it is and must give the same ids and the same decoded chunks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vla_ros.policies.fast.released_tokenizer import ReleasedFastTokenizer

FIXTURE = Path(__file__).resolve().parents[1] / 'fixtures' / 'fast_reference'


@pytest.fixture(scope='module')
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE / 'reference.npz') as data:
        return {key: data[key] for key in data.files}


def _rows(reference: dict[str, np.ndarray]) -> list[np.ndarray]:
    return np.split(reference['ids'], np.cumsum(reference['lengths'])[:-1])


def test_the_reference_folder_loads_with_its_own_shape_scale_and_min_token(
        reference: dict[str, np.ndarray]) -> None:
    tokenizer = ReleasedFastTokenizer.load(FIXTURE / 'tokenizer')

    config = tokenizer.config
    assert (config.chunk_length, config.action_dim) == reference['chunks'].shape[1:]
    assert config.scale == 10 and config.min_coefficient == int(reference['min_token'])


def test_our_ids_are_the_reference_ids(reference: dict[str, np.ndarray]) -> None:
    tokenizer = ReleasedFastTokenizer.load(FIXTURE / 'tokenizer')
    rows = _rows(reference)
    assert len(rows) == len(reference['chunks']) == 12

    for chunk, ids in zip(reference['chunks'], rows):
        np.testing.assert_array_equal(tokenizer.encode(chunk), ids)


def test_our_decoding_of_the_reference_ids_is_the_reference_decoding(
        reference: dict[str, np.ndarray]) -> None:
    tokenizer = ReleasedFastTokenizer.load(FIXTURE / 'tokenizer')

    for ids, decoded in zip(_rows(reference), reference['decoded']):
        np.testing.assert_allclose(tokenizer.decode(ids), decoded, rtol=0.0, atol=1e-12)
    # and the round trip lands within the quantisation step of the original chunks
    worst = max(float(np.abs(tokenizer.decode(ids) - chunk).max())
                for ids, chunk in zip(_rows(reference), reference['chunks']))
    assert worst < 0.1, worst

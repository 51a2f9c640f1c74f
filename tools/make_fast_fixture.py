# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
r"""Make test/fixtures/fast_reference/ by running the released FAST tokenizer's own code.

The released pi0-FAST action tokenizer is ``physical-intelligence/fast`` on the Hugging Face
Hub: ``processing_action_tokenizer.py`` (class ``UniversalActionProcessor``) plus the files its
``save_pretrained`` writes. That code is the reference; vla_ros has its own implementation
(``vla_ros/policies/fast/released_tokenizer.py``). This script, run in a throwaway environment
with the reference module, writes:

- ``tokenizer/``: a FAST tokenizer fitted by the reference's ``fit`` on seeded smooth chunks
  (10 steps x 7 dims in [-1, 1], scale 10, vocabulary 512) and saved by its
  ``save_pretrained``, exactly the released folder layout;
- ``reference.npz``: held-out chunks, the reference's token ids for each (``ids``, flat, with
  ``lengths``) and its ``decode`` of those ids.

``test/policies/test_fast_reference_parity.py`` then checks that our loader reads the folder
and gives identical ids and decoded chunks.

Usage (the fixture committed was made so, on 2026-12-05)::

    python3 -m venv /tmp/fastref/venv
    /tmp/fastref/venv/bin/pip install transformers==4.48.3 tokenizers scipy 'numpy<2.3'
    # processing_action_tokenizer.py from https://huggingface.co/physical-intelligence/fast
    /tmp/fastref/venv/bin/python tools/make_fast_fixture.py \
        --reference /tmp/fastref/processing_action_tokenizer.py \
        --out test/fixtures/fast_reference

Nothing from vla_ros is imported here: the reference runs alone.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
import shutil
import sys

import numpy as np

CHUNK_LENGTH, ACTION_DIM = 10, 7
SCALE, VOCAB_SIZE = 10, 512
TRAIN_CHUNKS, TEST_CHUNKS = 400, 12


def smooth_chunks(count: int, seed: int) -> np.ndarray:
    """``count`` smooth chunks (T, D) in [-1, 1]: random walks, rescaled per chunk."""
    rng = np.random.default_rng(seed)
    walks = np.cumsum(rng.normal(0.0, 0.2, (count, CHUNK_LENGTH, ACTION_DIM)), axis=1)
    walks += rng.uniform(-0.5, 0.5, (count, 1, ACTION_DIM))
    return np.clip(walks, -1.0, 1.0)


def main() -> int:
    """Fit, save, encode and decode with the reference; write the fixture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--reference', type=Path, required=True,
                        help='processing_action_tokenizer.py of physical-intelligence/fast')
    parser.add_argument('--out', type=Path, required=True)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location('processing_action_tokenizer', args.reference)
    assert spec is not None and spec.loader is not None
    reference = importlib.util.module_from_spec(spec)
    sys.modules['processing_action_tokenizer'] = reference
    spec.loader.exec_module(reference)

    train = smooth_chunks(TRAIN_CHUNKS, seed=0)
    held_out = smooth_chunks(TEST_CHUNKS, seed=1)
    processor = reference.UniversalActionProcessor.fit(
        list(train), scale=SCALE, vocab_size=VOCAB_SIZE, time_horizon=CHUNK_LENGTH,
        action_dim=ACTION_DIM)
    if args.out.exists():
        shutil.rmtree(args.out)
    processor.save_pretrained(str(args.out / 'tokenizer'))
    ids = processor(held_out)
    decoded = processor.decode(ids, time_horizon=CHUNK_LENGTH, action_dim=ACTION_DIM)
    np.savez_compressed(
        args.out / 'reference.npz', chunks=held_out,
        ids=np.concatenate([np.asarray(row, dtype=np.int64) for row in ids]),
        lengths=np.asarray([len(row) for row in ids], dtype=np.int64),
        decoded=np.asarray(decoded, dtype=np.float64), min_token=processor.min_token)
    print(f'wrote {args.out}: min_token {processor.min_token}, '
          f'{sum(len(row) for row in ids)} ids for {TEST_CHUNKS} chunks')
    return 0


if __name__ == '__main__':
    sys.exit(main())

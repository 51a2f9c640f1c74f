# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The families' letterbox (OpenCV's uint8 kernel) against openpi's (``letterbox(exact=True)``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vla_ros.core.errors import InputError
from vla_ros.core.images import letterbox as reference_letterbox
from vla_ros.core.images import letterbox_geometry
from vla_ros.policies.frames import letterbox, resize_planes


@pytest.mark.parametrize(('shape', 'size'), [
    ((480, 640), (224, 224)), ((720, 1280), (224, 224)), ((64, 64), (224, 224)),
    ((300, 200), (224, 224)), ((480, 640), (64, 64)), ((225, 224), (224, 224)),
    ((100, 100), (64, 96)),
])
def test_within_one_level_of_openpi_with_black_bars(shape: tuple[int, int],
                                                    size: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[0] + size[1])
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    height, width = size

    boxed = letterbox(image, height=height, width=width)
    exact = reference_letterbox(image, height=height, width=width, exact=True)

    assert boxed.shape == (height, width, 3) and boxed.dtype == np.uint8
    difference = boxed.astype(int) - exact
    assert np.abs(difference).max() <= 1
    # (13 % of the values at 640x480 -> 224x224, each by 1)
    assert np.count_nonzero(difference) <= 0.5 * difference.size
    rows, cols, top, left = letterbox_geometry(image, height=height, width=width)
    bars = np.ones((height, width), bool)
    bars[top:top + rows, left:left + cols] = False
    assert not boxed[bars].any() and not exact[bars].any()
    flat = np.full((*shape, 3), (10, 200, 77), np.uint8)  # a flat colour comes out exact
    assert np.array_equal(letterbox(flat, height=height, width=width),
                          reference_letterbox(flat, height=height, width=width, exact=True))


def test_bars_are_black_and_placed_as_openpi_places_them() -> None:
    white = np.full((480, 640, 3), 255, np.uint8)
    boxed = letterbox(white, height=224, width=224)
    rows = np.flatnonzero(boxed[:, 112, 0])
    assert (rows[0], rows[-1]) == (28, 195)  # 168 picture rows, 28 black above and below
    assert np.array_equal(boxed, reference_letterbox(white, height=224, width=224, exact=True))


def test_the_model_size_passes_untouched_and_read_only_frames_work() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    assert letterbox(image, height=64, width=64) is image
    frozen = np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    frozen.flags.writeable = False
    assert np.array_equal(letterbox(frozen, height=64, width=64),
                          letterbox(frozen.copy(), height=64, width=64))
    assert tuple(resize_planes(frozen, 12, 20).shape) == (3, 12, 20)


@pytest.mark.parametrize('image', [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                   np.zeros((1, 2000, 3), np.uint8)],
                         ids=['grey', 'float', 'sliver'])
def test_unusable_frames_are_refused_as_the_reference_refuses_them(image: np.ndarray) -> None:
    with pytest.raises(InputError, match='letterbox'):
        letterbox(image, height=224, width=224)


def test_a_remote_client_never_loads_torch_for_its_frames(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ('import sys, numpy as np\n'
            'from vla_ros.policies.remote import openpi\n'
            'from vla_ros.policies.frames import letterbox\n'
            'letterbox(np.zeros((64, 64, 3), np.uint8), height=64, width=64)\n'
            "print('torch' in sys.modules, end=' ')\n"
            'letterbox(np.zeros((48, 64, 3), np.uint8), height=64, width=64)\n'
            "print('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120, check=False, cwd=tmp_path)  # the installed vla_ros
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'False False'

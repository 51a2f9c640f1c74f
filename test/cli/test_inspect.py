# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros inspect`: a LeRobot pi0 folder's dims and a YAML block that loads once filled in."""

from __future__ import annotations

from pathlib import Path
import sys

import pytest
import yaml

from vla_ros.cli.main import main
from vla_ros.core.config import parse_config
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.registry import load_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'policies'))
from lerobot_pi0_folder import (
    IMAGE_KEYS,
    write_paligemma_style_tokenizer,
    write_pi0_folder,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
JOINTS = ['joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint']


@pytest.fixture(scope='module')
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp('inspect')
    vocab_size = write_paligemma_style_tokenizer(root / 'tokenizer')
    return write_pi0_folder(root / 'pi0', vocab_size=vocab_size), root / 'tokenizer'


def test_inspect_prints_the_miniatures_dims(published: tuple[Path, Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(['inspect', str(published[0])]) == 0
    out = capsys.readouterr().out
    assert 'layout: LeRobot pi0 (config.json "type": "pi0"); family: flow' in out
    assert 'PaliGemma dummy (width 64, 4 layers, vocabulary 1451)' in out
    assert 'parameters: 640,304' in out
    assert 'dtype: stored F32, config.json says float32' in out
    assert "images: 3 in the model's order, each letterboxed to 56x56:" in out
    for key in IMAGE_KEYS:
        assert f'  {key}: 3x56x56 (C x H x W)' in out
    assert 'state: observation.state, 7 dims (padded to 32)' in out
    assert ('actions: action, 7 dims (padded to 32); chunk 10 rows, LeRobot executes 5; '
            '10 denoising steps') in out
    assert 'normalisation: ACTION MEAN_STD, STATE MEAN_STD, VISUAL IDENTITY' in out
    assert '  action std: [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]' in out


def test_the_printed_block_loads_once_the_placeholders_are_filled_in(
        published: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    main(['inspect', str(published[0])])
    block = capsys.readouterr().out.split('\n\n', 1)[1]
    for index, camera in enumerate(('front', 'wrist', 'null')):
        block = block.replace(f'CAMERA_{index}', camera)
    for prefix in ('STATE', 'ACTION'):
        for index, joint in reversed(list(enumerate(JOINTS))):  # _6 before _0: no prefixes
            block = block.replace(f'{prefix}_{index}', joint)
    block = block.replace('PATH/TO/paligemma-3b-pt-224', str(published[1]))
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw.update(yaml.safe_load(block))
    config = parse_config(raw, root=REPO_ROOT)
    assert config.execution.horizon == 5
    policy = load_policy('flow', config.policy.checkpoint, settings=config.policy)
    assert isinstance(policy, FlowPolicy)
    assert policy.spec.camera_names == ('front', 'wrist')


def test_inspect_of_a_folder_in_no_known_layout_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / 'config.json').write_text('{"type": "smolvla"}')
    assert main(['inspect', str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert "LeRobot policy type 'smolvla' is not supported by the flow family" in err

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros inspect` on a LeRobot pi0.5 folder: its dims, and a block that loads once filled in."""

from __future__ import annotations

from pathlib import Path
import sys

import pytest
import yaml

from vla_ros.cli.main import main
from vla_ros.core.config import parse_config
from vla_ros.policies.pi05.model import Pi05Policy
from vla_ros.policies.registry import load_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'policies'))
from lerobot_pi0_folder import write_paligemma_style_tokenizer
from lerobot_pi05_folder import IMAGE_KEYS, write_pi05_folder

REPO_ROOT = Path(__file__).resolve().parents[2]
JOINTS = ['joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint']


@pytest.fixture(scope='module')
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp('inspect_pi05')
    vocab_size = write_paligemma_style_tokenizer(root / 'tokenizer')
    return write_pi05_folder(root / 'pi05', vocab_size=vocab_size), root / 'tokenizer'


def test_inspect_prints_the_pi05_miniatures_dims(published: tuple[Path, Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(['inspect', str(published[0])]) == 0
    out = capsys.readouterr().out
    assert 'layout: LeRobot pi05 (config.json "type": "pi05"); family: pi05' in out
    assert 'PaliGemma dummy (width 64, 4 layers, vocabulary 1451)' in out
    assert '+ action expert dummy (width 64); SigLIP width 72, 1 layers, 14 px patches' in out
    assert 'parameters: 745,840' in out
    for key in IMAGE_KEYS:
        assert f'  {key}: 3x56x56 (C x H x W)' in out
    assert 'state: observation.state, 7 dims (padded to 32)' in out
    assert ('actions: action, 7 dims (padded to 32); chunk 10 rows, LeRobot executes 5; '
            '10 denoising steps') in out
    assert 'prompt: 200 tokens, the state discretised into 256 bins in it' in out
    assert 'normalisation: ACTION QUANTILES, STATE QUANTILES, VISUAL IDENTITY' in out
    assert '  action q01: [-0.9, -0.8, -0.7, -0.6, -0.5, -0.4, -0.3]' in out
    assert '  state q99: [0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5]' in out
    assert '  family: pi05' in out


def test_the_printed_pi05_block_loads_once_the_placeholders_are_filled_in(
        published: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    main(['inspect', str(published[0])])
    block = capsys.readouterr().out.split('\n\n', 1)[1]
    for index, camera in enumerate(('front', 'wrist', 'null')):
        block = block.replace(f'CAMERA_{index}', camera)
    for prefix in ('STATE', 'ACTION'):
        for index, joint in reversed(list(enumerate(JOINTS))):
            block = block.replace(f'{prefix}_{index}', joint)
    block = block.replace('PATH/TO/paligemma-3b-pt-224', str(published[1]))
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw.update(yaml.safe_load(block))
    config = parse_config(raw, root=REPO_ROOT)
    policy = load_policy(config.policy.family, config.policy.checkpoint,
                         settings=config.policy)
    assert isinstance(policy, Pi05Policy)
    assert policy.spec.camera_names == ('front', 'wrist')

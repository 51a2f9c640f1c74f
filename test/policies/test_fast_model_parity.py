# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Our pi0-FAST family against LeRobot 0.4.4's own ``PI0FastPolicy`` (issue 12 item 7).

``test/fixtures/pi0_fast_reference.npz`` was made by ``tools/make_fast_model_fixture.py``,
which ran LeRobot's preprocessor pipeline (from the folder's ``policy_preprocessor.json``),
``PI0FastPolicy`` greedy KV-cache generation, ``detokenize_actions`` and the postprocessor
(transformers 4.53.2 with openpi's patch, torch 2.14.1) on the miniature folder of
``lerobot_pi0_fast_folder.py``; its docstring has the commands, the versions and the sizes it
changed. This module rebuilds the same folder (same writer, same seed, the tool's
``seeded_weights``: digests prove the tensors and files are the ones LeRobot ran), loads it
through the config as the ``fast`` family and, for two observations and both weightings
(``planted``: the writer's chain, a real FAST chunk; ``random``: every tensor seeded random,
where the images, prompt and every layer decide the ids), requires LeRobot's prompt ids and
generated ids exactly, the first step's logits within 3e-4 (measured: 0 planted, 3.8e-5 and
6.6e-5 random, against top-2 gaps of at least 0.036), and for ``planted`` the decoded and the
unnormalised chunk within 1e-5 (measured 3e-8); for ``random`` both refuse the output.

This comparison found that LeRobot writes the state into the prompt zero-padded to
``max_state_dim`` (32 bins, not 7); vla_ros now does the same.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import re
from types import ModuleType
from typing import Any

from lerobot_pi0_fast_folder import IMAGE_KEYS, IMAGE_PX, write_pi0_fast_folder
import numpy as np
import pytest
import torch
import yaml

from vla_ros.core.config import load_config
from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import Observation
from vla_ros.policies.fast.lerobot_fast_policy import LeRobotFastPolicy
from vla_ros.policies.registry import load_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = REPO_ROOT / 'test' / 'fixtures' / 'pi0_fast_reference.npz'
JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
CASES = (0, 1)
#: Two cameras of (56 px / 14 px)^2 patches.
IMAGE_TOKENS = 2 * (IMAGE_PX // 14) ** 2
#: First-step logits: LeRobot pads the prompt to 200 and runs openpi's patched Gemma.
LOGITS_ATOL = 3e-4
CHUNK_ATOL = 1e-5


def _tool() -> ModuleType:
    path = REPO_ROOT / 'tools' / 'make_fast_model_fixture.py'
    spec = importlib.util.spec_from_file_location('make_fast_model_fixture', path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


@pytest.fixture(scope='module')
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope='module', params=TOOL.WEIGHTINGS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           reference: dict[str, np.ndarray]) -> tuple[str, LeRobotFastPolicy]:
    """(weighting, our policy on the rebuilt folder), once per weighting."""
    weighting = request.param
    root = tmp_path_factory.mktemp(f'pi0_fast_{weighting}')
    folder = root / 'pi0_fast'
    write_pi0_fast_folder(folder, seed=int(reference['seed']))
    digest = TOOL.seeded_weights(folder, weighting, seed=int(reference['seed']))
    assert digest == str(reference[f'{weighting}_tensor_digest']), 'not the tensors LeRobot ran'
    assert TOOL.files_digest(folder) == str(reference[f'{weighting}_files_digest'])
    return weighting, _load(folder)


def _load(folder: Path) -> LeRobotFastPolicy:
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(REPO_ROOT / 'urdf' / 'tabletop_arm.urdf')
    raw.pop('sim')
    raw['policy'] = {'family': 'fast', 'checkpoint': str(folder), 'device': 'cpu',
                     'dtype': 'float32',
                     'inputs': {'cameras': {IMAGE_KEYS[0]: 'front', IMAGE_KEYS[1]: 'wrist',
                                            IMAGE_KEYS[2]: None},
                                'state': list(JOINTS)},
                     'outputs': {'joints': list(JOINTS), 'dt_s': 0.1}}
    path = folder.parent / 'robot.yaml'
    path.write_text(yaml.safe_dump(json.loads(json.dumps(raw))))
    config = load_config(path)
    policy = load_policy(config.policy.family, config.policy.checkpoint,
                         device=config.policy.device, settings=config.policy)
    assert isinstance(policy, LeRobotFastPolicy)
    return policy


def _observation(reference: dict[str, Any], case: int) -> Observation:
    images = reference[f'case{case}_images']
    return Observation(images={'front': images[0], 'wrist': images[1]}, joint_names=JOINTS,
                       joint_positions=reference[f'case{case}_state'].astype(np.float64),
                       instruction=str(reference[f'case{case}_task']))


@pytest.mark.parametrize('case', CASES)
def test_prompt_ids_are_lerobots(loaded: tuple[str, LeRobotFastPolicy],
                                 reference: dict[str, np.ndarray], case: int) -> None:
    weighting, policy = loaded
    ours = policy.prompt(_observation(reference, case)).input_ids[0].numpy()
    tokens = reference[f'{weighting}{case}_tokens']
    mask = reference[f'{weighting}{case}_token_mask']
    # LeRobot: the tokenizer step's ids, right-padded to 200, then <bos>; images separately.
    assert mask.sum() < mask.size and not mask[int(mask.sum()):].any()
    expected = [*tokens[mask].tolist(), int(reference[f'{weighting}{case}_bos_id'])]
    assert ours[:IMAGE_TOKENS].tolist() == [policy.described.vocab_size] * IMAGE_TOKENS
    assert ours[IMAGE_TOKENS:].tolist() == expected
    text = policy.tokenizer.decode(ours[IMAGE_TOKENS:-1].tolist(), skip_special_tokens=True)
    assert text == str(reference[f'{weighting}{case}_prompt'])


@pytest.mark.parametrize('case', CASES)
def test_generated_ids_are_lerobots(loaded: tuple[str, LeRobotFastPolicy],
                                    reference: dict[str, np.ndarray], case: int) -> None:
    weighting, policy = loaded
    ours = policy.generate_ids(_observation(reference, case)).tolist()
    theirs = reference[f'{weighting}{case}_generated'].tolist()
    # LeRobot always runs max_decoding_steps (64); we stop at the first '|', inclusive.
    end = policy.tokenizer.convert_tokens_to_ids('|')
    expected = theirs[:theirs.index(end) + 1] if end in theirs else theirs
    assert ours == expected
    # planted: 'Action: ' (5 ids), 9 FAST ids, '|'; random: no '|' in LeRobot's 64 ids.
    assert len(ours) == (15 if weighting == 'planted' else 64)


@pytest.mark.parametrize('case', CASES)
def test_first_step_logits_match_lerobots(loaded: tuple[str, LeRobotFastPolicy],
                                          reference: dict[str, np.ndarray], case: int) -> None:
    weighting, policy = loaded
    inputs = policy.prompt(_observation(reference, case))
    with torch.inference_mode():
        logits = policy.model(input_ids=inputs.input_ids, pixel_values=inputs.pixel_values,
                              token_type_ids=inputs.token_type_ids).logits[0, -1].numpy()
    theirs = reference[f'{weighting}{case}_first_logits']
    np.testing.assert_allclose(logits, theirs, rtol=0, atol=LOGITS_ATOL)
    # The ids are compared exactly above; this margin keeps that comparison meaningful.
    assert float(reference[f'{weighting}{case}_min_top2_gap']) > 10 * LOGITS_ATOL


@pytest.mark.parametrize('case', CASES)
def test_the_chunk_decodes_and_unnormalises_as_lerobots_or_both_refuse(
        loaded: tuple[str, LeRobotFastPolicy], reference: dict[str, np.ndarray],
        case: int) -> None:
    weighting, policy = loaded
    observation = _observation(reference, case)
    if weighting == 'random':  # no 'Action: ' from LeRobot (its check refuses it), nor from us
        prefix = policy.tokenizer.encode('Action: ', add_special_tokens=False)
        assert reference[f'random{case}_generated'][:len(prefix)].tolist() != prefix
        with pytest.raises(PolicyOutputError, match='does not start with "Action: "'):
            policy.infer(observation)
        return
    fast_ids = policy.fast_ids(policy.generate_ids(observation))
    assert fast_ids.tolist() == reference['planted_fast_ids'].tolist()
    normalized = policy.fast_tokenizer.decode(fast_ids)
    np.testing.assert_allclose(normalized, reference[f'planted{case}_normalized_chunk'],
                               rtol=0, atol=CHUNK_ATOL)
    chunk = policy.infer(observation)
    assert chunk.joint_names == JOINTS
    np.testing.assert_allclose(chunk.positions, reference[f'planted{case}_chunk'], rtol=0,
                               atol=CHUNK_ATOL)


def _prepare_state_step(folder: Path, edit: Any) -> None:
    path = folder / 'policy_preprocessor.json'
    pipeline = json.loads(path.read_text())
    pipeline['steps'] = [step for step in pipeline['steps'] if edit(step)]
    path.write_text(json.dumps(pipeline))


def test_the_state_is_padded_to_the_steps_own_max_state_dim(
        tmp_path: Path, reference: dict[str, np.ndarray]) -> None:
    folder = tmp_path / 'pi0_fast'
    write_pi0_fast_folder(folder)

    def width_10(step: dict[str, Any]) -> bool:
        if step['registry_name'] == 'pi0_fast_prepare_state_tokenizer_processor_step':
            step['config']['max_state_dim'] = 10
        return True

    _prepare_state_step(folder, width_10)
    policy = _load(folder)
    ids = policy.prompt(_observation(reference, 0)).input_ids[0, IMAGE_TOKENS:-1]
    bins = re.search(r'State: ([-\d ]+);', str(reference['planted0_prompt']))
    assert bins is not None
    expected = bins.group(1).split()[:7] + ['128'] * 3  # LeRobot's 7 joints, 3 zero pads
    text = policy.tokenizer.decode(ids.tolist(), skip_special_tokens=True)
    assert text.endswith(f'State: {" ".join(expected)};\n')


def test_a_folder_without_the_prepare_state_step_is_refused_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / 'pi0_fast'
    write_pi0_fast_folder(folder)
    _prepare_state_step(folder, lambda step: step['registry_name'] != (
        'pi0_fast_prepare_state_tokenizer_processor_step'))
    with pytest.raises(ConfigError, match=r"0 'pi0_fast_prepare_state_tokenizer_processor_step' "
                                          r'steps, expected one'):
        _load(folder)

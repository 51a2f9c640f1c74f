# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A pointed state: the flow policy's own point at the named object, fed to its action expert.

Trained on two real MuJoCo reach episodes and rendered pointing scenes; checked at inference
against the readout the pointing head was trained on, computed independently.
"""

from __future__ import annotations

from dataclasses import replace
import json
from pathlib import Path

import numpy as np
from numpy.testing import assert_allclose
import pytest
import torch

from vla_ros.core.config import CameraConfig
from vla_ros.core.errors import ConfigError
from vla_ros.core.pointing_set import PointingSet
from vla_ros.core.types import Observation
from vla_ros.policies.flow.batch_inputs import PaddingSide, stack_inputs
from vla_ros.policies.flow.config import CONFIG_FILENAME, FlowPolicyConfig, PointedState
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.flow.pointing import prompt_readout, vlm_readout
from vla_ros.policies.flow.train import train, TrainingConfig, TrainingResult
from vla_ros.policies.pointing import PointingConfig
from vla_ros.policies.registry import load_policy
from vla_ros.sim.demonstrations import DemonstrationDataset, record_demonstrations
from vla_ros.sim.pointing_scenes import render_pointing_scenes
from vla_ros.sim.tasks import TaskKind

SCENE_PATH = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_scene.xml'
CAMERAS = (CameraConfig(name='front', topic='camera/front/image_raw', width=64, height=64),
           CameraConfig(name='wrist', topic='camera/wrist/image_raw', width=64, height=64))
DT_S = 0.1
JOINTS = 7


def _config(*, pointed: bool, readout: str = 'output',
            point_at: tuple[str, ...] = ()) -> TrainingConfig:
    return TrainingConfig(steps=4, batch_size=8, warmup_steps=0, seed=5, pointing_weight=1.0,
                          pointing=PointingConfig(steps=3, batch_size=8, held_out=8),
                          pointed_state=pointed, pointing_readout=readout, point_at=point_at)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DemonstrationDataset:
    """Two scripted reach episodes (scene seeds 7 and 8), chunks of 10."""
    out_dir = tmp_path_factory.mktemp('demos')
    record_demonstrations(mjcf_path=SCENE_PATH, task=TaskKind.REACH, count=2, seed=7,
                          cameras=CAMERAS, out_dir=out_dir)
    return DemonstrationDataset(out_dir, chunk_length=10)


@pytest.fixture(scope='module')
def scenes() -> PointingSet:
    """24 rendered tabletop scenes (seeds 70002+)."""
    return render_pointing_scenes(mjcf_path=SCENE_PATH, cameras=CAMERAS, count=24, seed=70002)


@pytest.fixture(scope='module')
def runs(dataset: DemonstrationDataset, scenes: PointingSet,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, TrainingResult]:
    """One run without a pointed state and three with: output, attended, and a fixed text."""
    root = tmp_path_factory.mktemp('pointed')
    return {name: train(dataset, root / name, dt_s=DT_S, config=config, progress=False,
                        pointing=scenes)
            for name, config in (('plain', _config(pointed=False)),
                                 ('pointed', _config(pointed=True)),
                                 ('attended', _config(pointed=True, readout='attended')),
                                 ('two', _config(pointed=True, point_at=('the blue cube',))))}


def _states_seen(policy: FlowPolicy, observation: Observation) -> torch.Tensor:
    """The state the action expert projects during ``policy.infer(observation)``."""
    seen: list[torch.Tensor] = []
    hook = policy.model.embed_action_time.state_proj.register_forward_pre_hook(
        lambda _module, args: seen.append(args[0].detach().clone()))
    try:
        policy.infer(observation)
    finally:
        hook.remove()
    assert seen
    return seen[0].reshape(-1, seen[0].shape[-1])[0]


@pytest.mark.parametrize('name', ['pointed', 'attended', 'two'])
def test_inference_fills_the_state_with_the_head_on_the_trained_readout(
        runs: dict[str, TrainingResult], dataset: DemonstrationDataset, name: str) -> None:
    policy = load_policy('flow', runs[name].checkpoint_dir)
    assert isinstance(policy, FlowPolicy)
    pointed = policy.config.pointed_state
    assert pointed is not None and pointed.readout == ('attended' if name == 'attended'
                                                       else 'output')
    assert pointed.queries == (('', 'the blue cube') if name == 'two' else ('',))
    assert 'pointed state' in policy.inference_path
    spec = policy.config.spec

    for index in (0, len(dataset) - 1):
        observation = dataset[index].observation
        state = _states_seen(policy, observation)
        # The readout pointing was trained on, computed as pre-training computes it.
        prompts = [observation.instruction, *pointed.queries[1:]]
        readout = prompt_readout(policy.model, policy.processor.hf_processor, prompts, spec,
                                 layer=pointed.readout)
        images = torch.from_numpy(np.stack(observation.images_for(spec)))[None]
        with torch.no_grad():
            hidden = readout(images.expand(len(prompts), -1, -1, -1, -1),
                             torch.arange(len(prompts)))
        expected = hidden @ torch.tensor(pointed.weight).T + torch.tensor(pointed.bias)
        end = JOINTS + 2 * len(prompts)

        assert_allclose(state[JOINTS:end].numpy(), expected.reshape(-1).numpy(), atol=1e-5)
        assert torch.count_nonzero(state[end:]) == 0
        assert torch.count_nonzero(state[JOINTS:end]) == end - JOINTS
        if name == 'two':  # another text, another point
            assert not torch.allclose(expected[0], expected[1], atol=1e-3)


def test_the_point_changes_the_chunk_and_the_training(
        runs: dict[str, TrainingResult], dataset: DemonstrationDataset) -> None:
    policy = load_policy('flow', runs['pointed'].checkpoint_dir)
    assert isinstance(policy, FlowPolicy)
    blind = FlowPolicy(policy.model, policy.processor,
                       replace(policy.config, pointed_state=None), device=torch.device('cpu'))
    observation = dataset[0].observation

    assert torch.count_nonzero(_states_seen(blind, observation)[JOINTS:]) == 0
    assert not torch.allclose(torch.from_numpy(policy.infer(observation).positions),
                              torch.from_numpy(blind.infer(observation).positions))
    # Same seed, same pointing pre-training: the first flow loss already sees another state.
    plain, pointed = runs['plain'].losses, runs['pointed'].losses
    assert plain[0] != pytest.approx(pointed[0], abs=1e-7)


def test_the_stored_head_round_trips_and_a_wrong_one_is_refused(
        runs: dict[str, TrainingResult], tmp_path: Path) -> None:
    directory = runs['pointed'].checkpoint_dir
    config = FlowPolicyConfig.load(directory)
    assert config.pointed_state is not None
    assert FlowPolicyConfig.from_json(config.to_json()) == config
    assert FlowPolicyConfig.load(runs['plain'].checkpoint_dir).pointed_state is None

    copy = tmp_path / 'narrow'
    load_policy('flow', directory).save(copy)
    raw = json.loads((copy / CONFIG_FILENAME).read_text())
    raw['pointed_state']['weight'] = [row[:-1] for row in raw['pointed_state']['weight']]
    (copy / CONFIG_FILENAME).write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=r'pointed_state.weight reads \d+ features, the VLM '
                                          r'is \d+ wide'):
        load_policy('flow', copy)
    with pytest.raises(ConfigError, match=r'pointed_state.spread\[1\]: 0.0, expected finite '
                                          'and > 0'):
        PointedState(readout='output', weight=((1.0,), (2.0,)), bias=(0.0, 0.0),
                     mean=(0.0, 0.0), spread=(1.0, 0.0))
    with pytest.raises(ConfigError, match=r"pointed_state.readout: 'middle'"):
        PointedState(readout='middle', weight=((1.0,), (2.0,)), bias=(0.0, 0.0),
                     mean=(0.0, 0.0), spread=(1.0, 1.0))


def test_a_pointed_state_needs_pointing_scenes_and_cotraining_and_is_kept_by_init(
        runs: dict[str, TrainingResult], dataset: DemonstrationDataset, scenes: PointingSet,
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='needs pointing co-training'):
        TrainingConfig(pointed_state=True)
    with pytest.raises(ConfigError, match='point_at: only with pointed_state'):
        TrainingConfig(point_at=('the pad',))
    with pytest.raises(ConfigError, match='distinct, non-empty texts'):
        TrainingConfig(pointed_state=True, pointing_weight=1.0, point_at=('the pad', 'the pad'))
    with pytest.raises(ConfigError, match='needs pointing scenes'):
        train(dataset, tmp_path / 'no_scenes', dt_s=DT_S, config=_config(pointed=True),
              progress=False)
    with pytest.raises(ConfigError, match='its state holds the point of its pointing head'):
        train(dataset, tmp_path / 'dropped', dt_s=DT_S, config=_config(pointed=False),
              progress=False, pointing=scenes, init=runs['pointed'].checkpoint_dir)
    # A checkpoint without one can be fine-tuned into one (the padding slots start to count).
    tuned = train(dataset, tmp_path / 'tuned', dt_s=DT_S, config=_config(pointed=True),
                  progress=False, pointing=scenes, init=runs['plain'].checkpoint_dir)
    assert FlowPolicyConfig.load(tuned.checkpoint_dir).pointed_state is not None


def test_inspect_says_the_state_holds_the_point(
        runs: dict[str, TrainingResult], capsys: pytest.CaptureFixture[str]) -> None:
    from vla_ros.cli.main import main

    for name, line in (('plain', 'state: 7 joints\n'),
                       ('attended', 'state: 7 joints, then the (x, y) its pointing head finds '
                                    '(attended readout, at every inference)\n')):
        assert main(['inspect', str(runs[name].checkpoint_dir)]) == 0
        out = capsys.readouterr().out
        assert line in out and 'chunk rows: absolute targets\n' in out


def test_a_batch_points_per_row_as_single_inferences_do(
        runs: dict[str, TrainingResult], dataset: DemonstrationDataset) -> None:
    """``vla-ros serve`` batches observations (prompts padded): each row gets its own point."""
    policy = load_policy('flow', runs['two'].checkpoint_dir)
    assert isinstance(policy, FlowPolicy)
    first = dataset[0].observation
    last = replace(dataset[len(dataset) - 1].observation,
                   instruction='please reach the blue cube with the gripper')
    lengths = {policy.processor.prepare(observation).input_ids.shape[1]
               for observation in (first, last)}
    assert len(lengths) == 2  # prompts of other lengths: the batch pads one
    single = torch.stack([_states_seen(policy, observation) for observation in (first, last)])

    seen: list[torch.Tensor] = []
    hook = policy.model.embed_action_time.state_proj.register_forward_pre_hook(
        lambda _module, args: seen.append(args[0].detach().clone()))
    try:
        policy.infer_batch([first, last], [policy.new_noise_stream(), policy.new_noise_stream()])
    finally:
        hook.remove()
    batched = seen[0].reshape(2, -1)

    assert_allclose(batched.numpy(), single.numpy(), atol=1e-5)
    assert not torch.allclose(single[0, JOINTS:], single[1, JOINTS:], atol=1e-3)


@pytest.mark.parametrize('side', list(PaddingSide), ids=lambda side: side.value)
def test_the_readout_reads_each_rows_own_last_token_in_a_padded_batch(
        runs: dict[str, TrainingResult], dataset: DemonstrationDataset, side: PaddingSide) -> None:
    policy = load_policy('flow', runs['pointed'].checkpoint_dir)
    assert isinstance(policy, FlowPolicy)
    observations = (dataset[0].observation,
                    replace(dataset[1].observation,
                            instruction='please reach the blue cube with the gripper'))
    rows = [policy.processor.prepare(observation) for observation in observations]
    assert rows[0].input_ids.shape[1] < rows[1].input_ids.shape[1]
    batch = stack_inputs(rows, pad_token_id=0, side=side)
    with torch.no_grad():
        batched = vlm_readout(policy.model, batch.input_ids, batch.attention_mask,
                              batch.pixel_values, batch.pixel_attention_mask)
        alone = torch.cat([vlm_readout(policy.model, row.input_ids, row.attention_mask,
                                       row.pixel_values, row.pixel_attention_mask)
                           for row in rows])
    assert_allclose(batched.numpy(), alone.numpy(), atol=1e-4)

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Our flow sampler against transformers' ``sample_actions`` on tiny random PI0 models.

Same weights, inputs and noise must give the same chunk: within 1e-5 in float32 (the chunk is
~N(0, 1); in practice the two agree to the last bit on the CPU), and within 2e-2 in bfloat16
(a bfloat16 step is 8e-3 at 1 and 1.6e-2 at 2), for one to three cameras, a missing camera,
batches whose prompts pad differently, and grouped-query attention with two key/value heads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import PI0ForConditionalGeneration

from vla_ros.core.errors import ConfigError
from vla_ros.core.types import Observation
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.flow.checkpoint import build_model, ModelSize
from vla_ros.policies.flow.model import FlowPolicy, load
from vla_ros.policies.flow.sampler import FlowSampler, SampleInputs, SamplerBackend

FLOAT32_TOLERANCE = 1e-5
BFLOAT16_TOLERANCE = 2e-2
PROMPTS = ('pick up the red cube', 'open the drawer and move the arm to the home pose', 'wave')


@dataclass(frozen=True, slots=True)
class Case:
    """A tiny model and a batch: ``cameras_present[b]`` cameras of sample b hold an image."""

    cameras: int
    cameras_present: tuple[int, ...]
    size: ModelSize = ModelSize()


CASES = {
    'one-camera-batch-1': Case(cameras=1, cameras_present=(1,)),
    'two-cameras-two-prompt-lengths': Case(cameras=2, cameras_present=(2, 2)),
    'three-cameras-one-sample-missing-two': Case(cameras=3, cameras_present=(3, 1, 2)),
    'two-kv-heads-three-layers': Case(cameras=2, cameras_present=(2, 2),
                                      size=ModelSize(heads=4, kv_heads=2, depth=3)),
}


def _model_and_inputs(case: Case, *, dtype: torch.dtype = torch.float32, seed: int = 0
                      ) -> tuple[PI0ForConditionalGeneration, SampleInputs]:
    spec = PolicySpec(joint_names=('joint1', 'joint2', 'gripper'),
                      camera_names=tuple(f'camera{index}' for index in range(case.cameras)),
                      image_height=32, image_width=32, chunk_length=6, dt_s=0.1)
    model, hf_processor = build_model(spec, size=case.size, seed=seed)
    model.to(dtype).eval()  # type: ignore[arg-type]  # transformers' wrapper hides nn.Module.to
    rng = np.random.default_rng(seed)
    batch = len(case.cameras_present)
    images = [[rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(present)]
              for present in case.cameras_present]
    encoded = hf_processor(images=images, text=[PROMPTS[index % 3] for index in range(batch)])
    generator = torch.Generator().manual_seed(seed)
    config = model.config
    return model, SampleInputs(
        input_ids=encoded['input_ids'], attention_mask=encoded['attention_mask'],
        pixel_values=encoded['pixel_values'].to(dtype),
        pixel_attention_mask=encoded['pixel_attention_mask'],
        state=torch.randn(batch, config.max_state_dim, generator=generator).to(dtype),
        noise=torch.randn(batch, config.chunk_size, config.max_action_dim,
                          generator=generator).to(dtype))


def _reference(model: PI0ForConditionalGeneration, inputs: SampleInputs) -> torch.Tensor:
    with torch.inference_mode():
        return model.sample_actions(
            state=inputs.state, input_ids=inputs.input_ids,  # type: ignore[arg-type]
            pixel_values=inputs.pixel_values, noise=inputs.noise,
            attention_mask=inputs.attention_mask,
            pixel_attention_mask=inputs.pixel_attention_mask,  # type: ignore[arg-type]
            num_steps=10)


def _max_difference(first: torch.Tensor, second: torch.Tensor) -> float:
    return float((first.double() - second.double()).abs().max())


@pytest.mark.parametrize('case', CASES.values(), ids=CASES.keys())
def test_eager_sampler_matches_sample_actions_in_float32(case: Case) -> None:
    model, inputs = _model_and_inputs(case)
    expected = _reference(model, inputs)
    chunk = FlowSampler(model).sample(inputs, num_steps=10)
    assert chunk.shape == expected.shape and chunk.dtype == torch.float32
    assert _max_difference(chunk, expected) <= FLOAT32_TOLERANCE
    assert float(expected.abs().max()) > 0.5  # a real chunk, not zeros on both sides


def test_eager_sampler_matches_sample_actions_in_bfloat16() -> None:
    model, inputs = _model_and_inputs(CASES['three-cameras-one-sample-missing-two'],
                                      dtype=torch.bfloat16)
    chunk = FlowSampler(model).sample(inputs, num_steps=10)
    assert chunk.dtype == torch.bfloat16
    assert _max_difference(chunk, _reference(model, inputs)) <= BFLOAT16_TOLERANCE


def test_compiled_sampler_matches_sample_actions_in_float32() -> None:
    model, inputs = _model_and_inputs(CASES['two-cameras-two-prompt-lengths'])
    chunk = FlowSampler(model, compile=True).sample(inputs, num_steps=10)
    assert _max_difference(chunk, _reference(model, inputs)) <= FLOAT32_TOLERANCE


def test_parity_tolerance_is_far_below_what_prompt_padding_and_noise_change() -> None:
    """The comparison above can fail: changing one mask bit or the noise moves the chunk."""
    model, inputs = _model_and_inputs(CASES['two-cameras-two-prompt-lengths'])
    sampler = FlowSampler(model)
    chunk = sampler.sample(inputs, num_steps=10)
    unpadded = inputs.attention_mask.clone()
    unpadded[0, -1] = 1  # sample 0 now sees one padding token
    changed_mask = dataclasses.replace(inputs, attention_mask=unpadded)
    changed_noise = dataclasses.replace(inputs, noise=inputs.noise.flip(1))
    for changed in (changed_mask, changed_noise):
        other = sampler.sample(changed, num_steps=10)
        assert _max_difference(other[0], chunk[0]) > 1e3 * FLOAT32_TOLERANCE
        assert _max_difference(other, _reference(model, changed)) <= FLOAT32_TOLERANCE
    # Sample 1's inputs did not change with the mask; its chunk does not either.
    assert _max_difference(sampler.sample(changed_mask, num_steps=10)[1], chunk[1]) <= 1e-6


def test_cuda_graphs_for_a_model_off_cuda_are_a_config_error() -> None:
    model, _ = _model_and_inputs(CASES['one-camera-batch-1'])
    with pytest.raises(ConfigError, match=r'cuda_graph needs a model on CUDA, it is on cpu'):
        FlowSampler(model, cuda_graph=True)


def test_flow_policy_samples_alike_with_our_sampler_and_transformers(
        flow_checkpoint: Path, observation: Observation) -> None:
    loaded = load(flow_checkpoint, 'cpu')
    policies = {backend: FlowPolicy(loaded.model, loaded.processor, loaded.config,
                                    device=torch.device('cpu'), sampler=backend)
                for backend in (SamplerBackend.EAGER, SamplerBackend.TRANSFORMERS)}
    for _ in range(2):  # the second chunk draws new noise from each policy's generator
        ours, theirs = (policy.infer(observation).positions for policy in policies.values())
        np.testing.assert_allclose(ours, theirs, rtol=0.0, atol=FLOAT32_TOLERANCE)
    assert SamplerBackend.default_for(torch.device('cpu')) is SamplerBackend.EAGER
    assert SamplerBackend.default_for(torch.device('cuda')) is SamplerBackend.CUDA_GRAPH

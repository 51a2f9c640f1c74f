# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The shared training loop: schedule values, batches without replacement, settings checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vla_ros.core.errors import ConfigError
from vla_ros.policies.diffusion.train import TrainingConfig as DiffusionConfig
from vla_ros.policies.flow.train import TrainingConfig as FlowConfig
from vla_ros.policies.tokens.teacher_forcing import TrainingConfig as TokensConfig
from vla_ros.policies.training_loop import (
    index_batches,
    optimize,
    OptimizerSettings,
    timed_run,
    torch_threads,
    warmup_cosine,
)


@pytest.mark.parametrize(('step', 'factor'), [
    (0, 0.25), (3, 1.0), (4, 1.0), (9, 0.55), (14, 0.1), (100, 0.1),
], ids=['first-warm-up-step', 'last-warm-up-step', 'peak', 'half-way', 'end', 'past-the-end'])
def test_the_rate_warms_up_linearly_then_decays_by_cosine_to_a_tenth(step, factor):
    assert warmup_cosine(14, 4)(step) == pytest.approx(factor)


def test_without_warm_up_the_first_step_runs_at_the_peak():
    assert warmup_cosine(10, 0)(0) == 1.0


def test_every_epoch_of_batches_is_one_permutation():
    rng = np.random.default_rng(0)
    batches = index_batches(7, 3, lambda count: torch.from_numpy(rng.permutation(count)))

    drawn = torch.cat([next(batches) for _ in range(7)]).tolist()  # 21 = three epochs

    assert [sorted(drawn[start:start + 7]) for start in (0, 7, 14)] == [list(range(7))] * 3


@pytest.mark.parametrize('config_class', [FlowConfig, DiffusionConfig, TokensConfig],
                         ids=['flow', 'diffusion', 'tokens'])
@pytest.mark.parametrize(('field', 'value', 'match'), [
    ('steps', 0, r'TrainingConfig\.steps: 0, expected an integer >= 1'),
    ('batch_size', True, r'TrainingConfig\.batch_size: True, expected an integer >= 1'),
    ('warmup_steps', -1, r'TrainingConfig\.warmup_steps: -1, expected an integer >= 0'),
    ('learning_rate', math.nan, r'TrainingConfig\.learning_rate: nan, expected a number > 0'),
    ('weight_decay', -0.1, r'TrainingConfig\.weight_decay: -0\.1, expected a number >= 0'),
    ('grad_clip_norm', 0.0, r'TrainingConfig\.grad_clip_norm: 0\.0, expected a number > 0'),
], ids=['steps', 'bool-batch', 'warm-up', 'nan-rate', 'negative-decay', 'zero-clip'])
def test_every_family_refuses_a_bad_setting_in_the_same_words(config_class, field, value,
                                                               match):
    with pytest.raises(ConfigError, match=match):
        config_class(**{field: value})


def test_the_loop_minimises_the_objective_and_reports_the_loss():
    weight = torch.nn.Parameter(torch.tensor([3.0]))
    settings = OptimizerSettings(steps=200, batch_size=1, learning_rate=0.1, weight_decay=0.0,
                                 warmup_steps=0, grad_clip_norm=10.0, log_every=50)
    after: list[int] = []

    def step_loss(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        objective = (weight ** 2).sum()
        return objective + 1.0, objective

    losses = optimize([weight], step_loss, settings, label='test', after_step=after.append)

    assert len(losses) == 200 and losses[0] == pytest.approx(10.0)
    assert abs(float(weight.detach())) < 0.05 and losses[-1] == pytest.approx(1.0, abs=0.01)
    assert after == list(range(200))


def test_torch_threads_sets_the_count_for_the_block_and_restores_it_even_on_error():
    before = torch.get_num_threads()
    inside = []

    with pytest.raises(ConfigError, match='stop'):
        with torch_threads(before + 1):
            inside.append(torch.get_num_threads())
            raise ConfigError('stop')

    assert inside == [before + 1] and torch.get_num_threads() == before


def test_timed_run_counts_the_parameters_runs_then_saves_and_reports(tmp_path, caplog):
    model = torch.nn.Linear(3, 2)  # 3 * 2 weights + 2 biases
    order = []

    def run():
        order.append('run')
        return [0.5, 0.25], None

    def save():
        order.append('save')
        return tmp_path

    with caplog.at_level('INFO', logger='vla_ros.policies.training_loop'):
        result = timed_run(model, what='toy policy on 4 samples', samples=4, run=run, save=save)

    assert order == ['run', 'save'] and 'training a 8-parameter toy policy on 4 samples' in (
        caplog.text)
    assert (result.checkpoint_dir, result.losses, result.samples, result.parameters,
            result.pointing) == (tmp_path, (0.5, 0.25), 4, 8, None)
    assert result.elapsed_s >= 0.0

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The optimisation every family's trainer runs: settings checks, batches, schedule, loop.

A family supplies its loss for a step; this module owns the rest, the same for all: AdamW
with decoupled weight decay, linear warm-up then cosine decay to 10 % of the peak rate,
global gradient-norm clipping, endless batches drawn without replacement epoch by epoch, a
progress bar on stderr and one log line every ``log_every`` steps with the mean loss since the
last one. The family's ``TrainingConfig`` holds the settings (``RunSettings``) and checks them
with ``check_run_settings``, so every family reports a bad value in the same words.

Randomness stays with the caller: ``index_batches`` takes the permutation function, so a
family keeps drawing batches from the generator it draws its noise from, and the same seed
gives the same losses as before the loop was shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
import contextlib
from dataclasses import dataclass
import logging
import math
from pathlib import Path
import time
from typing import Protocol, TYPE_CHECKING

import torch
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from vla_ros.core.errors import ConfigError
from vla_ros.policies.training_result import TrainingResult

if TYPE_CHECKING:
    from vla_ros.policies.pointing import PointingResult

__all__ = [
    'OptimizerSettings', 'RunSettings', 'StepLoss', 'check_run_settings', 'index_batches',
    'optimize', 'require_int', 'require_number', 'timed_run', 'torch_threads', 'warmup_cosine',
]

_LOG = logging.getLogger(__name__)

#: One optimizer step's (loss to report, objective to minimise); usually the same tensor.
StepLoss = Callable[[int], tuple[torch.Tensor, torch.Tensor]]


class RunSettings(Protocol):
    """The fields of every family's ``TrainingConfig`` that the shared loop reads."""

    @property
    def steps(self) -> int:
        """Optimizer steps."""
        ...

    @property
    def batch_size(self) -> int:
        """Samples per step."""
        ...

    @property
    def learning_rate(self) -> float:
        """Peak AdamW learning rate."""
        ...

    @property
    def weight_decay(self) -> float:
        """AdamW decoupled weight decay."""
        ...

    @property
    def warmup_steps(self) -> int:
        """Steps of linear warm-up before the cosine decay."""
        ...

    @property
    def grad_clip_norm(self) -> float:
        """Largest global gradient norm."""
        ...

    @property
    def log_every(self) -> int:
        """Steps between loss reports."""
        ...


@dataclass(frozen=True, slots=True)
class OptimizerSettings:
    """``RunSettings`` for a run that has no ``TrainingConfig`` of its own (pointing).

    Attributes: as ``RunSettings``.
    """

    steps: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_steps: int
    grad_clip_norm: float
    log_every: int


def require_int(config: object, name: str, *, minimum: int) -> None:
    """Check that ``config.<name>`` is an integer (not a bool) >= ``minimum``.

    Raises:
        ConfigError: naming ``<class>.<name>``, the value and the bound.
    """
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f'{type(config).__name__}.{name}: {value!r}, expected an integer '
                          f'>= {minimum}')


def require_number(config: object, name: str, *, may_be_zero: bool = False) -> None:
    """Check that ``config.<name>`` is a finite number > 0 (>= 0 with ``may_be_zero``).

    Raises:
        ConfigError: naming ``<class>.<name>``, the value and the bound.
    """
    value = getattr(config, name)
    if not (isinstance(value, int | float) and math.isfinite(value)
            and (value >= 0 if may_be_zero else value > 0)):
        bound = '>= 0' if may_be_zero else '> 0'
        raise ConfigError(f'{type(config).__name__}.{name}: {value!r}, expected a number '
                          f'{bound}')


def check_run_settings(config: RunSettings, *, counts: Sequence[str] = (),
                       torch_threads: bool = True) -> None:
    """Check the shared settings of a ``TrainingConfig``, and its own ``counts`` (>= 1).

    Steps, batch size, log interval (and ``torch_threads`` when the config has it) are
    integers >= 1; warm-up steps and ``seed`` integers >= 0; the learning rate and the clip
    norm numbers > 0; the weight decay a number >= 0.

    Raises:
        ConfigError: the first bad field, named as ``TrainingConfig.<field>``.
    """
    ones = ('steps', 'batch_size', *counts, 'log_every',
            *(('torch_threads',) if torch_threads else ()))
    for name in ones:
        require_int(config, name, minimum=1)
    for name in ('warmup_steps', 'seed'):
        require_int(config, name, minimum=0)
    for name in ('learning_rate', 'grad_clip_norm'):
        require_number(config, name)
    require_number(config, 'weight_decay', may_be_zero=True)


def timed_run(model: torch.nn.Module, *, what: str, samples: int,
              run: Callable[[], tuple[Sequence[float], PointingResult | None]],
              save: Callable[[], Path]) -> TrainingResult:
    """Log the model's size, time ``run`` (the optimisation), then ``save`` the checkpoint.

    Args:
        model: the model trained (its parameters are counted).
        what: the rest of the log line after ``training a N-parameter``, e.g. ``flow policy on
            15 samples``.
        samples: training samples (sequences for the token families), for the result.
        run: the optimisation: (every step's loss, the pointing pre-training's outcome or
            None).
        save: writes the checkpoint and returns its directory; not timed.
    """
    parameters = sum(parameter.numel() for parameter in model.parameters())
    _LOG.info('training a %d-parameter %s', parameters, what)
    started = time.monotonic()
    losses, pointed = run()
    elapsed_s = time.monotonic() - started
    return TrainingResult(checkpoint_dir=save(), losses=tuple(losses), samples=samples,
                          parameters=parameters, elapsed_s=elapsed_s, pointing=pointed)


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block on ``count`` torch CPU threads, then restore the process's count.

    A run's losses and weights repeat exactly only for the same thread count
    (``TrainingConfig.torch_threads``); the caller's setting is back afterwards, even on error.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def warmup_cosine(steps: int, warmup_steps: int) -> Callable[[int], float]:
    """The learning-rate factor of step ``step``: linear warm-up, then cosine decay to 0.1."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, steps - warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return factor


def index_batches(count: int, batch_size: int,
                  permutation: Callable[[int], torch.Tensor]) -> Iterator[torch.Tensor]:
    """Endless batches of sample indices (1-D int64), each epoch a fresh permutation.

    Args:
        count: number of samples.
        batch_size: indices per batch; a batch may span two epochs.
        permutation: a random permutation of ``range(n)`` as int64, from the caller's
            generator (``torch.randperm`` or numpy's ``Generator.permutation``).
    """
    order = torch.empty(0, dtype=torch.int64)
    while True:
        while len(order) < batch_size:
            order = torch.cat([order, permutation(count)])
        yield order[:batch_size]
        order = order[batch_size:]


def optimize(parameters: Sequence[torch.nn.Parameter], step_loss: StepLoss,
             settings: RunSettings, *, label: str, progress: bool = False,
             rate_factor: Callable[[int], float] | None = None,
             after_step: Callable[[int], None] | None = None) -> list[float]:
    """Run ``settings.steps`` AdamW steps on ``parameters``; returns every step's loss.

    Args:
        parameters: the trained parameters (the optimizer's and the clip's).
        step_loss: step index -> (reported loss, objective); called once a step.
        settings: steps, rates, decay, clip norm and log interval.
        label: names the run in the progress bar (``train <label>``).
        progress: draw a tqdm progress bar on stderr.
        rate_factor: learning-rate factor of each step; ``warmup_cosine`` of the settings
            when None.
        after_step: called with the step index after each optimizer and schedule step.
    """
    optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate,
                                  weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, rate_factor or warmup_cosine(settings.steps, settings.warmup_steps))
    losses: list[float] = []
    with logging_redirect_tqdm(), tqdm(range(settings.steps), desc=f'train {label}',
                                       unit='step', disable=not progress,
                                       dynamic_ncols=True) as bar:
        for step in bar:
            loss, objective = step_loss(step)
            optimizer.zero_grad(set_to_none=True)
            objective.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(parameters, settings.grad_clip_norm)
            optimizer.step()
            schedule.step()
            if after_step is not None:
                after_step(step)
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f'{losses[-1]:.4f}', refresh=False)
            if (step + 1) % settings.log_every == 0 or step + 1 == settings.steps:
                window = losses[-settings.log_every:]
                _LOG.info('%s step %d/%d: loss %.4f (mean of the last %d), lr %.2e', label,
                          step + 1, settings.steps, sum(window) / len(window), len(window),
                          schedule.get_last_lr()[0])
    return losses

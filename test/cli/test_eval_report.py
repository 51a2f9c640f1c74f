# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros eval --strategy/--horizon`: the options, and the smoothness keys of the report."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from vla_ros.cli import eval as eval_verb
from vla_ros.core.errors import ConfigError
from vla_ros.execution.smoothness import SmoothnessMetrics
from vla_ros.ros.evaluation import EpisodeRecord, EvaluationRun
from vla_ros.ros.evaluation_report import evaluation_report, wilson_interval
from vla_ros.sim.tasks import Colour, FailureReason, make_episode, TaskKind


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    eval_verb.add_arguments(parser)
    return parser.parse_args(list(argv))


def record(index: int, smoothness: SmoothnessMetrics | None) -> EpisodeRecord:
    return EpisodeRecord(index=index, episode=make_episode(TaskKind.REACH, 40 + index),
                         success=False, time_to_success_s=None, duration_s=2.0,
                         outcome='canceled', smoothness=smoothness)


def test_report_holds_the_strategy_and_the_smoothness_over_all_episodes() -> None:
    args = parse('--policy', 'ckpt', '--task', 'reach', '--strategy', 'rtc', '--horizon', '8',
                 '--json', 'out.json')
    run = EvaluationRun(records=(
        record(0, SmoothnessMetrics(0.02, 150.0, idle_s=0.5, window_s=2.0, boundaries=5)),
        record(1, SmoothnessMetrics(0.05, 90.0, idle_s=0.1, window_s=1.5, boundaries=4)),
    ), latencies_ms=(100.0, 120.0))

    report = evaluation_report(run, eval_verb.report_settings(args))

    assert (report['strategy'], report['horizon']) == ('rtc', 8)
    assert report['max_boundary_jump_rad'] == 0.05
    assert report['max_jerk'] == 150.0
    assert report['idle_fraction'] == pytest.approx(0.6 / 3.5, abs=1e-4)
    first = report['per_episode'][0]
    assert (first['max_boundary_jump_rad'], first['max_jerk'], first['idle_fraction'],
            first['boundaries']) == (0.02, 150.0, 0.25, 5)


def test_report_without_measurements_has_null_smoothness() -> None:
    args = parse('--expert', '--task', 'lift', '--json', 'out.json')

    report = evaluation_report(EvaluationRun(records=(record(0, None),), latencies_ms=()),
                               eval_verb.report_settings(args))

    assert report['strategy'] is None and report['horizon'] is None
    assert report['max_boundary_jump_rad'] is None and report['idle_fraction'] is None
    assert report['per_episode'][0]['boundaries'] == 0


def test_report_gives_each_failed_lift_its_reason_and_cube_height() -> None:
    args = parse('--policy', 'ckpt', '--task', 'lift', '--json', 'out.json')
    episode = make_episode(TaskKind.LIFT, 1000)
    run = EvaluationRun(records=(
        EpisodeRecord(index=0, episode=episode, success=False, time_to_success_s=None,
                      duration_s=15.0, outcome='canceled',
                      failure_reason=FailureReason.DROPPED, max_cube_height_m=0.03125),
        EpisodeRecord(index=1, episode=episode, success=True, time_to_success_s=3.0,
                      duration_s=3.0, outcome='canceled', max_cube_height_m=0.051),
    ), latencies_ms=(10.0,))

    failed, lifted = evaluation_report(run, eval_verb.report_settings(args))['per_episode']

    assert (failed['failure_reason'], failed['max_cube_height_m']) == ('cube dropped', 0.0312)
    assert (lifted['failure_reason'], lifted['max_cube_height_m']) == (None, 0.051)
    assert failed['closest_m'] is None and failed['ended_nearest'] is None  # not a reach


def test_report_gives_each_missed_reach_how_close_it_came_and_where_it_ended() -> None:
    args = parse('--policy', 'ckpt', '--task', 'reach', '--json', 'out.json')
    episode = make_episode(TaskKind.REACH, 1000)
    other = next(colour for colour in Colour if colour is not episode.colour)
    run = EvaluationRun(records=(
        EpisodeRecord(index=0, episode=episode, success=False, time_to_success_s=None,
                      duration_s=15.0, outcome='canceled',
                      failure_reason=FailureReason.NOT_REACHED, closest_m=0.061234,
                      ended_nearest=other),
    ), latencies_ms=(10.0,))

    (missed,) = evaluation_report(run, eval_verb.report_settings(args))['per_episode']

    assert (missed['closest_m'], missed['ended_nearest']) == (0.0612, other.value)


def test_report_gives_each_place_how_far_off_the_pad_the_cube_ended(capsys) -> None:
    args = parse('--policy', 'ckpt', '--task', 'place', '--json', 'out.json')
    episode = make_episode(TaskKind.PLACE, 1000)
    missed = EpisodeRecord(index=0, episode=episode, success=False, time_to_success_s=None,
                           duration_s=15.0, outcome='canceled',
                           failure_reason=FailureReason.PLACED_OUTSIDE,
                           max_cube_height_m=0.13, off_target_m=0.023456)
    placed = EpisodeRecord(index=1, episode=episode, success=True, time_to_success_s=6.0,
                           duration_s=6.0, outcome='canceled', max_cube_height_m=0.13,
                           off_target_m=0.0)
    run = EvaluationRun(records=(missed, placed), latencies_ms=(10.0,))

    first, second = evaluation_report(run, eval_verb.report_settings(args))['per_episode']

    assert (first['off_target_m'], second['off_target_m']) == (0.0235, 0.0)
    never = EpisodeRecord(index=1, episode=episode, success=False, time_to_success_s=None,
                          duration_s=15.0, outcome='canceled',
                          failure_reason=FailureReason.NEVER_GRASPED, max_cube_height_m=0.0,
                          off_target_m=0.2)
    for record in (missed, placed, never):
        eval_verb._show(2, record)
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].endswith('cube placed outside the target; 2.3 cm off the pad)')
    assert 'off the pad' not in shown[1]
    assert 'off the pad' not in shown[2]  # where a cube never carried lies says nothing


def test_strategy_is_one_of_the_four_and_applies_to_a_policy_only(tmp_path: Path,
                                                                   capsys) -> None:
    with pytest.raises(SystemExit):
        parse('--policy', 'ckpt', '--task', 'reach', '--strategy', 'teleport',
              '--json', 'out.json')
    assert "invalid choice: 'teleport'" in capsys.readouterr().err

    args = parse('--expert', '--task', 'reach', '--strategy', 'sync',
                 '--json', str(tmp_path / 'r.json'))
    with pytest.raises(ConfigError, match='--horizon apply to --policy'):
        eval_verb.run(args)
    assert not (tmp_path / 'r.json').exists()


def test_horizon_applies_to_a_policy_only_and_is_at_least_one_step(tmp_path: Path) -> None:
    out = str(tmp_path / 'r.json')
    with pytest.raises(ConfigError, match='--horizon apply to --policy'):
        eval_verb.run(parse('--expert', '--task', 'reach', '--horizon', '10', '--json', out))
    with pytest.raises(ConfigError, match='--horizon 0: expected an integer >= 1'):
        eval_verb.run(parse('--policy', 'ckpt', '--task', 'reach', '--horizon', '0',
                            '--json', out))
    assert not (tmp_path / 'r.json').exists()


def test_success_interval_is_wilsons_and_stays_inside_zero_to_one() -> None:
    low, high = wilson_interval(16, 20)
    assert (low, high) == (pytest.approx(0.584, abs=5e-4), pytest.approx(0.919, abs=5e-4))
    assert wilson_interval(0, 5)[0] == 0.0 and 0.4 < wilson_interval(0, 5)[1] < 0.5
    assert wilson_interval(5, 5)[1] == 1.0 and 0.5 < wilson_interval(5, 5)[0] < 0.6
    assert wilson_interval(50, 100) == pytest.approx((1 - wilson_interval(50, 100)[1],
                                                      1 - wilson_interval(50, 100)[0]))
    for bad in ((3, 0), (-1, 4), (5, 4)):
        with pytest.raises(ValueError):
            wilson_interval(*bad)
    args = parse('--policy', 'ckpt', '--task', 'reach', '--json', 'out.json')
    run = EvaluationRun(records=(record(0, None), record(1, None)), latencies_ms=())
    assert evaluation_report(run, eval_verb.report_settings(args))['success_interval_95'] == [
        0.0, 0.658]

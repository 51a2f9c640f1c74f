# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros demo`: the main job, end to end.

Brings up the simulated arm and the policy node in this process (real rclpy over DDS; the graph
`vla-ros eval` runs, through ``vla_ros.ros.demo_run``), sends an instruction as an action goal,
records the joint states and every camera while it runs, then prints what happened and writes
a PNG (each camera at the start and the end, and the joint trajectories, one plot per
controller). Any embodiment with a sim section runs (``--config config/aloha.yaml``,
``config/g1.yaml``).
When the instruction names a cube and the fingertip reaches it (the simulator's check,
`vla-ros eval`'s ``SuccessCheck``; only for scenes with the tabletop's cubes and an
``end_effector`` frame, or a ``left_hand`` / ``right_hand`` frame that the instruction names,
"... with your right hand", or a ``left_end_effector`` / ``right_end_effector`` one, "... with
the left gripper"), the demo cancels the goal and the arm holds there: the policies are
trained on reaches that end at the cube, not on what to do afterwards (``--keep-going`` runs
on). The policy node runs on the simulator's clock (``use_sim_time``), as `vla-ros eval` does,
so a loaded machine that slows the simulator down slows the policy's chunks and the goal with
it instead of cutting chunks short.

``--task lift`` runs the lift policy (``config/tabletop_arm_lift.yaml`` unless ``--config``;
default instruction "pick up the red cube"), cancels the goal once the named cube is lifted
(`vla-ros eval`'s check: its centre 5 cm above its rest), prints the cube's height over time
and plots each camera at the start, when the cube left the table, and at the end. ``--task
place`` does the same with the place policy (``config/tabletop_arm_place.yaml``; "put the red
cube on the yellow square"), the goal cancelled once the cube rests on the pad and the gripper
has let go.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.cli.config_path import add_config_argument, default_config_path
from vla_ros.sim.tasks import LIFT_HEIGHT_M, REACH_TOLERANCE_M, TaskKind

if TYPE_CHECKING:
    from vla_ros.ros.demo_run import DemoRun
    from vla_ros.ros.one_shot_calls import GoalFeedback
    from vla_ros.ros.sensor_log import SensorRecording

__all__ = ['add_arguments', 'run']

#: Per task: the default instruction.
TASK_INSTRUCTIONS = {'reach': 'touch the red cube', 'lift': 'pick up the red cube',
                     'place': 'put the red cube on the yellow square'}
#: Per gripper task: its default config, beside the default one (``config/``).
TASK_CONFIGS = {'lift': 'tabletop_arm_lift.yaml', 'place': 'tabletop_arm_place.yaml'}
#: Simulated time between the printed cube heights of ``--task lift`` and ``place``, seconds.
HEIGHT_REPORT_PERIOD_S = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    add_config_argument(parser)
    parser.add_argument('--task', choices=tuple(TASK_INSTRUCTIONS), default='reach',
                        help='reach: stop at the named cube; lift: run the lift policy '
                        f'(config/{TASK_CONFIGS["lift"]} unless --config), stop once the cube '
                        'is lifted, print its height over time; place: the same with the place '
                        f'policy (config/{TASK_CONFIGS["place"]}), stop once the cube rests on '
                        'the pad, released')
    parser.add_argument('--instruction', default=None,
                        help='default: "touch the red cube" (reach), "pick up the red cube" '
                        '(lift), "put the red cube on the yellow square" (place)')
    parser.add_argument('--duration', type=float, default=8.0,
                        help='simulated seconds of execution')
    parser.add_argument('--seed', type=int, default=0, help='object placement seed')
    parser.add_argument('--out', type=Path, default=Path('out/demo.png'), help='PNG to write')
    parser.add_argument('--keep-going', dest='stop_when_reached', action='store_false',
                        help='run the whole duration even after the named cube is reached '
                        '(by default the demo cancels the goal then, as the evaluation does)')


def _plot(sensors: SensorRecording, path: Path, instruction: str,
          controllers: dict[str, tuple[str, ...]]) -> None:
    """Each camera at the start and the end (top row), each controller's joints (below)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    times = sensors.times_s - sensors.times_s[0]
    marked = sensors.marked_frames
    shots = ('start', 'cube off the table', 'end') if marked else ('start', 'end')
    columns = max(len(shots) * len(sensors.frames), 2)
    plot_rows = -(-len(controllers) // 2)  # two controllers per row
    figure = plt.figure(figsize=(max(15.0, 2.6 * columns), 3.2 + 3.4 * plot_rows))
    grid = figure.add_gridspec(1 + plot_rows, columns,
                               height_ratios=[1.0] + [1.1] * plot_rows)
    for index, (camera, frames) in enumerate(sensors.frames.items()):
        pictures = (frames[0], marked[camera], frames[-1]) if marked else (frames[0], frames[-1])
        for offset, (frame, when) in enumerate(zip(pictures, shots)):
            axis = figure.add_subplot(grid[0, len(shots) * index + offset])
            axis.imshow(frame)
            axis.set_title(f'{camera}, {when}', fontsize='small')
            axis.axis('off')
    half = grid.ncols // 2
    column_of = {name: i for i, name in enumerate(sensors.names)}
    for index, (controller, joints) in enumerate(controllers.items()):
        row, left = 1 + index // 2, (index % 2) * half
        axis = figure.add_subplot(grid[row, left:left + half])
        for joint in joints:
            if joint in column_of:
                axis.plot(times, sensors.positions[:, column_of[joint]], label=joint)
        axis.set_title(controller, fontsize='small')
        axis.set_xlabel('time [s]')
        axis.set_ylabel('position [rad | m]')
        axis.legend(loc='upper right', fontsize='x-small', ncol=2)
    figure.suptitle(f'joint states while executing "{instruction}"')
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _print_heights(demo: DemoRun) -> None:
    """The cube's height every ``HEIGHT_REPORT_PERIOD_S`` and last, the highest, why it failed."""
    assert demo.episode is not None and demo.watch is not None  # a lift or place was checked
    shown, next_s = [], 0.0
    last = len(demo.heights_m) - 1
    for index, (elapsed_s, height_m) in enumerate(demo.heights_m):
        if elapsed_s >= next_s or index == last:  # the last check too: where the cube ended
            shown.append(f'{elapsed_s:.1f} s {100 * height_m:.1f}')
            next_s = elapsed_s + HEIGHT_REPORT_PERIOD_S
    print(f'  {demo.episode.colour.value} cube height above its rest [cm]: ' + ', '.join(shown))
    reason = demo.watch.failure_reason()
    lifted = f' (lifted: more than {100 * LIFT_HEIGHT_M:.0f} cm)' \
        if demo.episode.task is TaskKind.LIFT else ''
    print(f'  highest {100 * (demo.watch.max_height_m or 0.0):.1f} cm{lifted}'
          f'{"" if reason is None else f"; {reason.value}"}')


def _print_outcome(demo: DemoRun, moved: NDArray[np.float64], latencies_ms: list[float],
                   stop_when_done: bool) -> None:
    """The result, chunks, latency, real-time factor, excursions, and where the cubes were."""
    assert demo.result is not None
    print(f'vla-ros demo: result success={demo.result.success} '
          f'message={demo.result.message!r}')
    print(f'  chunks executed: {demo.result.chunks_executed}')
    print(f'  inference latency: median {np.median(latencies_ms or [0]):.1f} ms')
    print(f'  real-time factor: {demo.simulated_s / demo.wall_s:.2f} ({demo.simulated_s:.1f} s '
          f'simulated in {demo.wall_s:.1f} s wall time, goal to result)')
    print('  largest joint excursion: ' + ', '.join(
        f'{name} {value:.3f}' for name, value in zip(demo.sensors.names, moved)))
    task = demo.episode.task if demo.episode is not None else None
    if task in (TaskKind.LIFT, TaskKind.PLACE):
        _print_heights(demo)
    if demo.episode is not None:
        done = 'lifted' if task is TaskKind.LIFT else 'placed' if task is TaskKind.PLACE \
            else 'reached'
        if demo.done_at_s is not None:
            print(f'  {done} the {demo.episode.colour.value} cube '
                  f'{demo.done_at_s:.1f} s after the goal'
                  + (' and stopped there (the goal was cancelled: hold)' if stop_when_done
                     else ''))
        else:  # the goal's success says it ran its course, not that the task was done
            print(f'  the {demo.episode.colour.value} cube was not {done} '
                  f"(the simulator's check) in {demo.simulated_s:.1f} s")
    if demo.distances_m:
        where = 'fingertip' if demo.frame == 'end_effector' \
            else str(demo.frame).replace('_', ' ')
        print(f"  {where} to each cube's top at the end: " + ', '.join(
            f'{colour} {100 * distance:.1f} cm'
            f'{" (reached)" if distance <= REACH_TOLERANCE_M else ""}'
            for colour, distance in demo.distances_m.items()))


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit 0 when the goal ran (to its end or to the reach) and the arm moved."""
    from vla_ros.core.config import load_config
    from vla_ros.ros.demo_run import DemoRequest, run_demo, SensorTimeoutError

    task = TaskKind(args.task)
    default = default_config_path()
    config_path = Path(args.config or (default.with_name(TASK_CONFIGS[args.task])
                                       if args.task in TASK_CONFIGS else default))
    instruction = TASK_INSTRUCTIONS[args.task] if args.instruction is None else args.instruction
    embodiment = load_config(config_path).embodiment
    latencies_ms: list[float] = []

    def show(feedback: GoalFeedback) -> None:
        latencies_ms.append(feedback.last_inference_latency_ms)
        print(f'  t={feedback.elapsed_s:4.1f} s  chunks={feedback.chunks_executed:3d}  '
              f'inference={feedback.last_inference_latency_ms:6.1f} ms', flush=True)

    print(f'vla-ros demo: starting the simulated arm and the policy ({config_path})')
    request = DemoRequest(config_path=config_path, instruction=instruction,
                          seed=args.seed, duration_s=args.duration, task=task,
                          stop_when_done=args.stop_when_reached)
    try:
        demo = run_demo(request, on_feedback=show, on_goal=lambda: print(
            f'vla-ros demo: goal "{instruction}" '
            f'for {args.duration:.0f} s of simulated time'))
    except SensorTimeoutError as err:
        print(f'vla-ros demo: {err}')
        return 1
    if demo.result is None:
        print('vla-ros demo: the goal was rejected')
        return 1
    positions = demo.sensors.positions
    moved = np.abs(positions - positions[0]).max(axis=0) if len(positions) else np.zeros(0)
    _plot(demo.sensors, args.out, instruction, {
        **embodiment.controllers,
        **{f'{name} (held)': joints for name, joints in embodiment.held_controllers.items()}})
    _print_outcome(demo, moved, latencies_ms, args.stop_when_reached)
    print(f'  plot: {args.out.resolve()}')
    ran = demo.result.success or (demo.done_at_s is not None and args.stop_when_reached)
    return 0 if ran and moved.max(initial=0.0) > 1e-3 else 1

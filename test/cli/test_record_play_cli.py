# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros record` and `vla-ros play` as a user runs them: subprocesses on their own domain."""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess

from rosbags.highlevel import AnyReader

from vla_ros.data import BagWriter, MessageTypes

T0_NS = 1_700_000_000_000_000_000
#: std_msgs/String 'hi' as CDR.
HELLO = b'\x00\x01\x00\x00\x03\x00\x00\x00hi\x00'


def _env() -> dict[str, str]:
    return dict(os.environ, ROS_DOMAIN_ID=str(int(os.environ['ROS_DOMAIN_ID']) + 100))


def _default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal, even when this test run ignores it.

    A shell's background job starts with SIGINT ignored, and children inherit that.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(['vla-ros', *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=120, check=False)


def test_record_until_ctrl_c_finishes_a_readable_bag(tmp_path):
    recorder = subprocess.Popen(
        ['vla-ros', 'record', '-o', 'out', 'chatter:std_msgs/msg/String'], cwd=tmp_path,
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_default_sigint)
    assert recorder.stdout is not None
    first_line = recorder.stdout.readline()  # printed once subscribed

    recorder.send_signal(signal.SIGINT)
    try:
        stdout, stderr = recorder.communicate(timeout=60)
    finally:
        recorder.kill()  # never leave a recorder behind, whatever happened

    assert first_line == 'vla-ros record: recording into out until Ctrl-C\n', stderr
    assert recorder.returncode == 0, stderr
    assert stdout.splitlines()[-1] == 'bag: out'
    with AnyReader([tmp_path / 'out']) as reader:
        assert reader.message_count == 0


def test_play_publishes_a_bag_and_counts_it(tmp_path):
    with BagWriter(tmp_path / 'bag', message_types=MessageTypes()) as writer:
        for index in range(3):
            writer.write('/chatter', 'std_msgs/msg/String', T0_NS + index * 10_000_000, HELLO)

    done = _run('play', 'bag', '--rate', '4', '--remap', 'chatter:=other', '--discovery-timeout',
                '1', cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == '/chatter: 3 published'


def test_expected_errors_are_one_line_without_traceback(tmp_path):
    (tmp_path / 'cut').mkdir()
    (tmp_path / 'cut' / 'metadata.yaml').write_text('rosbag2_bagfile_information: {}\n')

    existing = _run('record', '-o', 'cut', cwd=tmp_path)
    corrupt = _run('play', 'cut', cwd=tmp_path)

    assert existing.returncode == 1
    assert existing.stderr.strip().splitlines() == [
        'vla-ros record: cut: exists already; a bag is never overwritten, choose a new output '
        'path']
    assert corrupt.returncode == 1
    assert corrupt.stderr.strip().splitlines()[-1].startswith(
        'vla-ros play: cut: not a readable rosbag2 bag: ')
    assert 'Traceback' not in corrupt.stderr

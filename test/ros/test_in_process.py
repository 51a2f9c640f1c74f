# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The in-process graph: Ctrl-C ends the wait, a destroyed entity is not a callback failure.

Ctrl-C ends `vla-ros sim` and `vla-ros record` even when a DDS thread receives the signal.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import signal
import threading
import time

from node_test_constants import fresh_domain_id, WAIT_S
import pytest
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.task import Future
from std_msgs.msg import String

from vla_ros.action import ExecuteInstruction
from vla_ros.ros.in_process import (
    _OncePerStart,
    InProcessGraph,
    WAIT_SET_GRACE_S,
    wait_until_interrupted,
)

#: Far longer than a working interrupt needs (0.1 s) and far shorter than the wait it ends.
DEADLINE_S = 20.0


def test_sigint_delivered_to_another_thread_interrupts_the_wait() -> None:
    """The kernel may hand SIGINT to any thread; an untimed wait in the main thread hung."""
    # Python's own handler, as in a terminal (a launcher may have started us ignoring SIGINT).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    release = threading.Event()
    other = threading.Thread(target=release.wait, args=(60.0,), name='like-a-dds-thread')
    other.start()
    assert other.ident is not None
    timer = threading.Timer(0.2, signal.pthread_kill, args=(other.ident, signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            wait_until_interrupted(60.0)
    finally:
        release.set()
        other.join()
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < DEADLINE_S


def test_a_duration_ends_the_wait_without_an_interrupt() -> None:
    started = time.monotonic()

    wait_until_interrupted(0.3)

    assert time.monotonic() - started >= 0.3


def test_an_action_client_destroyed_while_the_graph_spins_is_not_a_callback_error() -> None:
    """The executor still adds a waitable destroyed after it listed the node's waitables.

    ``ActionClient.destroy`` frees the handle, then takes the client off its node; an executor
    between the two tried to wait on a freed client and rcl raised. A CI evaluation run failed
    on that. Here the window is held open: the handle is freed and the client stays listed.
    """
    with InProcessGraph(domain_id=fresh_domain_id()) as graph:
        node = graph.add(Node, node_name='destroys_a_client')
        client = ActionClient(node, ExecuteInstruction, 'vla/execute')
        client._client_handle.destroy_when_not_in_use()  # destroy()'s first half, alone
        time.sleep(WAIT_SET_GRACE_S / 4)  # many spins with the freed client listed
        node.remove_waitable(client)  # its second half
        spinning = _spins(graph, node)
        errors = list(graph.callback_errors)

    assert not errors, errors[0]
    assert spinning, 'the graph stopped spinning'


def _spins(graph: InProcessGraph, node: Node) -> bool:
    """Whether the graph still delivers a message published on ``node``."""
    received = threading.Event()
    node.create_subscription(String, 'alive', lambda _msg: received.set(), 10)
    publisher = node.create_publisher(String, 'alive', 10)
    deadline = time.monotonic() + WAIT_S
    while not received.is_set() and time.monotonic() < deadline:
        publisher.publish(String(data='still spinning'))
        received.wait(timeout=0.1)
    return received.is_set()


def test_an_action_client_seen_before_its_constructor_finished_is_not_a_callback_error() -> None:
    """The client is listed on its node before its constructor sets its ``_lock``.

    The executor then read the half-built client and raised AttributeError (a CI run failed
    so). Here the window is held open: the client's lock is missing for a while.
    """
    with InProcessGraph(domain_id=fresh_domain_id()) as graph:
        node = graph.add(Node, node_name='makes_a_client')
        client = ActionClient(node, ExecuteInstruction, 'vla/execute')
        lock = client._lock
        del client._lock  # as between ``add_waitable`` and the constructor's last line
        time.sleep(WAIT_SET_GRACE_S / 4)
        client._lock = lock
        spinning = _spins(graph, node)
        errors = list(graph.callback_errors)

    assert not errors, errors[0]
    assert spinning, 'the graph stopped spinning'


def test_an_entity_that_stays_broken_is_reported_once_and_the_graph_spins_on() -> None:
    with InProcessGraph(domain_id=fresh_domain_id()) as graph:
        node = graph.add(Node, node_name='keeps_a_broken_client')
        client = ActionClient(node, ExecuteInstruction, 'vla/execute')
        lock = client._lock
        del client._lock
        time.sleep(WAIT_SET_GRACE_S * 2)
        errors = list(graph.callback_errors)
        client._lock = lock
        spinning = _spins(graph, node)

    assert len(errors) == 1, errors
    assert "AttributeError: 'ActionClient' object has no attribute '_lock'" in errors[0]
    assert spinning, 'the graph stopped spinning once the client was whole again'


def test_a_task_yielded_again_before_it_started_runs_once_and_the_pool_is_the_graphs() -> None:
    # rclpy's executor re-yields a submitted task until a pool thread starts it; each re-yield
    # used to queue it again while the executor thread spun holding the GIL.
    release = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1)
    pool.submit(release.wait, 5.0)  # the only worker is busy: the task cannot start yet
    front = _OncePerStart(pool)
    runs = []
    ran = threading.Semaphore(0)

    def task() -> None:
        runs.append(threading.current_thread().name)
        ran.release()

    for _ in range(3):
        front.submit(task)
    release.set()
    assert ran.acquire(timeout=5.0)
    once = len(runs)
    front.submit(task)  # started and finished since: a new start (as a resumed coroutine)
    assert ran.acquire(timeout=5.0)
    pool.shutdown(wait=True)

    assert (once, len(runs)) == (1, 2)
    with InProcessGraph(domain_id=fresh_domain_id()) as graph:
        assert isinstance(graph._executor._executor, _OncePerStart)


def test_a_coroutine_callback_that_awaits_resumes_through_the_graph() -> None:
    # A suspended coroutine task has started: it must be submitted again to resume.
    with InProcessGraph(domain_id=fresh_domain_id()) as graph:
        node = graph.add(Node, node_name='awaits')
        answer: Future = Future()
        done = threading.Event()
        steps: list[str] = []

        async def callback() -> None:
            timer.cancel()
            steps.append('started')
            steps.append(await answer)
            done.set()

        timer = node.create_timer(0.01, callback)
        deadline = time.monotonic() + WAIT_S
        while not steps and time.monotonic() < deadline:
            time.sleep(0.01)
        answer.set_result('resumed')
        graph._executor.wake()  # as rclpy's own futures wake the executor when done
        finished = done.wait(timeout=WAIT_S)
        errors = list(graph.callback_errors)

    assert not errors, errors[0]
    assert finished and steps == ['started', 'resumed']

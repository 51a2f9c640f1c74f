# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Several nodes in one process, in a private rclpy context, spun on a background thread.

This is how `vla-ros sim`/`demo` and every node executable (``run_node``) start their nodes,
and how the tests isolate themselves: each graph has its own context and may pin its DDS domain.

Closing a graph shuts its lifecycle nodes down first, while the executor still spins: the policy
node then holds the arm and aborts its goal with a result the client receives. Stopping the
executor first hung: it waits for every running callback, and a goal's feedback loop waits for
a simulated clock that stopped with the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
import contextlib
import signal
import threading
import time
import traceback
from types import FrameType
from typing import NoReturn, TypeVar

import rclpy
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

__all__ = ['InProcessGraph', 'sigterm_as_interrupt', 'wait_until_interrupted']

NodeT = TypeVar('NodeT', bound=Node)
#: Longest a Ctrl-C can wait for the main thread in ``wait_until_interrupted``, s.
_INTERRUPT_POLL_S = 0.1
SPIN_PERIOD_S = 0.1  # how often the spin loop looks at the stop flag
#: How long failures to build the wait set are ridden out as an entity changing under the
#: executor, s; failing longer is a broken entity, reported in ``callback_errors``.
WAIT_SET_GRACE_S = 2.0


class InProcessGraph:
    """Owns a context, a multi-threaded executor spinning in a thread, and the nodes added.

    A callback that raises does not stop the graph (rclpy's ``spin`` would end the thread
    and with it every node): the traceback is logged and kept in ``callback_errors``, and
    spinning goes on. Tests assert that list is empty.
    """

    def __init__(self, *, domain_id: int | None = None, args: list[str] | None = None) -> None:
        self.context = Context()
        # No rclpy signal handler: Ctrl-C reaches the caller as KeyboardInterrupt while the
        # context is still valid, so closing the graph can command holds before it ends.
        rclpy.init(args=args, context=self.context, domain_id=domain_id,
                   signal_handler_options=SignalHandlerOptions.NO)
        self._executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        _submit_each_task_once(self._executor)
        self._nodes: list[Node] = []
        self._stopping = threading.Event()
        self.callback_errors: list[str] = []
        self._thread = threading.Thread(target=self._spin, name='executor', daemon=True)
        self._thread.start()

    def add(self, factory: Callable[..., NodeT], **kwargs: object) -> NodeT:
        """Create a node with ``factory(context=..., **kwargs)`` and spin it."""
        node = factory(context=self.context, **kwargs)
        self._nodes.append(node)
        self._executor.add_node(node)
        return node

    def _spin(self) -> None:
        failing_since: float | None = None  # when building the wait set began to fail
        reported = False  # that failure, once it outlasted WAIT_SET_GRACE_S
        while self.context.ok() and not self._stopping.is_set():
            try:
                self._executor.spin_once(timeout_sec=SPIN_PERIOD_S)
            except ExternalShutdownException:
                return
            except _rclpy.InvalidHandle:
                # An entity destroyed while the executor built its wait set (a node closing
                # its subscriptions while the graph spins): the next wait set is without it.
                continue
            except Exception as error:  # one failing callback must not stop the graph
                if self._stopping.is_set():
                    return
                if not _building_the_wait_set(error):
                    self._report(traceback.format_exc())
                    continue
                # An entity changed under the executor: rclpy lists a node's waitables
                # without a lock, so it sees an action client before its constructor has
                # finished (``_lock`` is set last) or after ``destroy`` freed its handle. The
                # next wait set sees the finished (or removed) entity; one still failing
                # after WAIT_SET_GRACE_S is broken, and is reported once.
                now = time.monotonic()
                if failing_since is None:
                    failing_since, reported = now, False
                if not reported and now - failing_since >= WAIT_SET_GRACE_S:
                    self._report(traceback.format_exc())
                    reported = True
                time.sleep(SPIN_PERIOD_S if reported else 0.001)
            else:
                failing_since = None

    def _report(self, message: str) -> None:
        self.callback_errors.append(message)
        get_logger('in_process_graph').error(
            f'a callback raised; the graph keeps spinning:\n{message}')

    def close(self) -> None:
        """Shut the lifecycle nodes down, stop spinning, destroy the nodes, end the context.

        Nodes go last added first. A lifecycle node's ``shutdown`` transition runs while the
        executor still spins, so what it sends on the way out (a hold, a goal's result) is
        delivered, and no callback is left waiting when the executor stops.
        """
        if self.context.ok():
            for node in reversed(self._nodes):
                if isinstance(node, LifecycleNode):
                    _shut_down(node)
        self._stopping.set()
        self._thread.join(timeout=5.0)  # nothing is dispatched after this
        self._executor.shutdown(timeout_sec=5.0)
        for node in reversed(self._nodes):
            node.destroy_node()
        self._nodes.clear()
        self.context.try_shutdown()

    def __enter__(self) -> InProcessGraph:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _OncePerStart:
    """The thread pool of a MultiThreadedExecutor, receiving each task once until it starts.

    rclpy's executor thread yields a task again on every spin while the task is "not
    executing", which it is until a pool thread has started it, and submits it again each
    time. Between a message arriving and a pool thread getting the GIL (Python's switch
    interval, 5 ms) the executor thread so spun at full speed holding the GIL: with the sim's
    50 Hz joint states and ``/clock`` subscribed in the same process, `vla-ros sim` ran at 0.15
    to 0.4x real time instead of 0.9x, its sim thread starved of the GIL
    (``docs/benchmarks.md``). Here a task submitted and not yet started is not queued again;
    the executor thread sleeps briefly instead, releasing the GIL to the pool. A coroutine task
    that suspended (it awaits a future) has started, so it is submitted again to resume, as
    before.
    """

    #: What the executor thread sleeps when it re-yields a task not yet started, s.
    YIELD_S = 0.0005

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._queued: set[int] = set()  # id() of the tasks submitted and not yet started

    def submit(self, task: Callable[[], object]) -> None:
        key = id(task)
        with self._lock:
            queued = key in self._queued
            self._queued.add(key)
        if queued:
            time.sleep(self.YIELD_S)
            return
        self._pool.submit(self._start, task, key)

    def _start(self, task: Callable[[], object], key: int) -> None:
        with self._lock:
            self._queued.discard(key)
        task()

    def shutdown(self, wait: bool = True, **kwargs: object) -> None:
        self._pool.shutdown(wait=wait, **kwargs)  # type: ignore[arg-type]


def _submit_each_task_once(executor: MultiThreadedExecutor) -> None:
    """Put ``_OncePerStart`` in front of ``executor``'s thread pool (rclpy's ``_executor``)."""
    pool = getattr(executor, '_executor', None)
    if not isinstance(pool, ThreadPoolExecutor):
        get_logger('in_process_graph').warning(
            'this rclpy keeps its thread pool elsewhere: its executor may spin while a '
            'callback waits for a thread (slower simulation; see in_process._OncePerStart)')
        return
    executor._executor = _OncePerStart(pool)  # type: ignore[assignment]


def _building_the_wait_set(error: BaseException) -> bool:
    """Whether ``error`` came from rclpy's executor building its wait set, not a callback.

    Callbacks run in the executor's thread pool and their exceptions surface from
    ``spin_once`` outside ``_wait_for_ready_callbacks``; what is raised inside it comes from
    the bookkeeping of the nodes' entities.
    """
    frame = error.__traceback__
    while frame is not None:
        code = frame.tb_frame.f_code
        if code.co_name == '_wait_for_ready_callbacks' and 'rclpy' in code.co_filename:
            return True
        frame = frame.tb_next
    return False


def _shut_down(node: LifecycleNode) -> None:
    """The lifecycle ``shutdown`` transition, unless ``node`` is already finalized."""
    try:
        node.trigger_shutdown()
    except _rclpy.RCLError:  # finalized already: nothing left to shut down
        pass


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt in the main thread, as Ctrl-C does.

    ros2 launch (after SIGINT and a grace period), systemd and docker stop a process with
    SIGTERM, whose default action ends it at once, before the arm is told to hold. Only the
    main thread may set signal handlers; in another thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_until_interrupted(duration_s: float | None = None) -> None:
    """Return after ``duration_s`` (None: never); Ctrl-C raises KeyboardInterrupt at once.

    One untimed wait is not enough next to a graph: the kernel may deliver SIGINT to one of
    the DDS threads, which interrupts no wait of the main thread, and Python runs its handler
    only when the main thread next executes bytecode. Short waits give it that chance.
    """
    deadline = None if duration_s is None else time.monotonic() + duration_s
    while deadline is None or time.monotonic() < deadline:
        left = _INTERRUPT_POLL_S if deadline is None else deadline - time.monotonic()
        time.sleep(max(0.0, min(_INTERRUPT_POLL_S, left)))

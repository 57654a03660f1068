"""The warm pool: threads, replaced workers, no hang, compile cache, lazy default pool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from script_runtime import (
    Limits,
    ScriptLimitExceeded,
    ScriptPool,
    ScriptPoolBusy,
    ScriptRuntimeError,
)
from script_runtime.policy import Policy
from tests.script_runtime.support import SMALL, assert_pool_serves


def test_threads_share_the_pool(pool: ScriptPool) -> None:
    def one(i: int) -> object:
        return pool.run("y = x * 2", data={"x": i}).data["y"]

    with ThreadPoolExecutor(max_workers=6) as executor:
        results = list(executor.map(one, range(60)))
    assert results == [i * 2 for i in range(60)]


def test_cached_code_is_not_recompiled() -> None:
    with ScriptPool(1) as single:
        for i in range(20):
            assert single.run("y = x + 1", data={"x": i}).data["y"] == i + 1
        assert single.stats["compilations"] == 1
        single.evaluate("x > 1", data={"x": 2})
        assert single.stats["compilations"] == 2


def test_killed_worker_gives_clear_error_and_is_replaced() -> None:
    with ScriptPool(1) as single:
        single.run("x = 1", data={})
        (worker,) = single._checkout.running
        timer = threading.Timer(0.3, os.kill, (worker.process.pid, signal.SIGKILL))
        timer.start()
        with pytest.raises(ScriptRuntimeError) as caught:
            single.run("while True:\n    pass", data={}, limits=SMALL)
        timer.join()
        assert caught.value.type_name == "WorkerKilled"
        assert "SIGKILL" in str(caught.value)
        assert_pool_serves(single)
        assert single.stats["workers_replaced"] == 1


def test_idle_worker_that_died_is_replaced_before_use() -> None:
    with ScriptPool(1) as single:
        single.run("x = 1", data={})
        (worker,) = single._checkout.running
        worker.process.kill()
        worker.process.wait()
        assert single.run("x = 2", data={}).data == {"x": 2}


def test_caller_never_hangs_on_many_runaways(pool: ScriptPool) -> None:
    limits = Limits(cpu_seconds=5, wall_seconds=0.5, memory_mb=128)
    started = time.monotonic()

    def runaway(_: int) -> str:
        try:
            pool.run("while True:\n    pass", data={}, limits=limits)
        except ScriptLimitExceeded as exc:
            return exc.limit
        return "no error"

    with ThreadPoolExecutor(max_workers=4) as executor:
        outcomes = list(executor.map(runaway, range(4)))
    assert outcomes == ["wall_seconds"] * 4
    assert time.monotonic() - started < 10
    assert_pool_serves(pool)


def test_closed_pool_refuses_work() -> None:
    single = ScriptPool(1)
    single.close()
    with pytest.raises(RuntimeError, match="closed"):
        single.run("x = 1", data={})


def test_import_starts_nothing() -> None:
    code = (
        "import script_runtime, multiprocessing\n"
        "assert multiprocessing.active_children() == []\n"
        "assert not hasattr(script_runtime, 'default_pool')\n"
        "with script_runtime.ScriptPool(1) as pool:\n"
        "    runner: script_runtime.ScriptRunner = pool\n"
        "    assert runner.run('y = x + 1', data={'x': 1}).data == {'x': 1, 'y': 2}\n"
        "    assert runner.evaluate('x > 0', data={'x': 1}) is True\n"
        "    assert runner.check('import os')[0].name == 'os'\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout == "ok\n", done.stderr
    assert done.returncode == 0


def test_a_worker_that_only_compiles_is_not_killed_by_its_cpu_backstop() -> None:
    # The worker's RLIMIT_CPU sits a few seconds above the CPU it had spent at its last run;
    # checks spend CPU too, so they must move it up as runs do, or an innocent check dies.
    tight = Limits(cpu_seconds=0.1)
    policy = Policy(defaults=tight, maxima=replace(Policy().maxima, cpu_seconds=0.1))
    with ScriptPool(1, policy=policy) as single:
        assert single.run("x = 1", data={}).data == {"x": 1}
        started, i = time.monotonic(), 0
        while time.monotonic() - started < 4.0:  # past the backstop of about 3 s of CPU
            source = "".join(f"v{i}_{n} = [{n}, {n} + 1]\n" for n in range(3000))
            assert single.check(source) == []
            i += 1
        assert single.stats["workers_replaced"] == 0


def test_the_caller_polls_for_a_reply_only_after_quick_ones() -> None:
    # After a quick reply the next one is awaited by polling (no wake-up of the caller's CPU);
    # after a slow one the caller sleeps at once, and a runaway still ends at its limit.
    with ScriptPool(1) as single:
        (worker,) = single._checkout.running
        quick = []
        for i in range(50):
            assert single.run("y = x + 1", data={"x": i}).data["y"] == i + 1
            quick.append(worker.quick)
        assert any(quick)
        single.run("t = 0\nfor i in range(300000):\n    t += i", data={})
        assert not worker.quick
        for _ in range(200):
            if worker.quick:
                break
            single.run("x = 1", data={})
        assert worker.quick
        with pytest.raises(ScriptLimitExceeded) as caught:
            single.run("while True:\n    pass", data={}, limits=Limits(wall_seconds=0.3))
        assert caught.value.limit == "wall_seconds"
        assert_pool_serves(single)


def test_callers_beyond_max_waiting_are_refused_at_once() -> None:
    with ScriptPool(1, wait_seconds=30, max_waiting=1) as single:
        single.run("x = 1", data={})
        with ThreadPoolExecutor(2) as threads:
            spinning = threads.submit(single.run, "while True:\n    pass", data={}, limits=SMALL)
            while not spinning.done() and single._checkout.idle:
                time.sleep(0.01)
            waiting = threads.submit(single.run, "y = 2", data={})
            while not waiting.done() and single._checkout.waiting == 0:
                time.sleep(0.01)
            with pytest.raises(ScriptPoolBusy) as caught:
                single.run("z = 3", data={})
            assert not spinning.done()  # refused while the worker was still busy, not after
            assert caught.value.retry_after >= 1
            assert waiting.result().data == {"y": 2}  # the one that waited got the worker
            with pytest.raises(ScriptLimitExceeded):
                spinning.result()
        assert single.stats["busy"] == 1
        assert_pool_serves(single)


def test_a_busy_pool_says_when_its_first_worker_is_sure_to_be_free() -> None:
    # Two workers on runaway scripts with wall-clock limits of 30 s and 20 s: a refused caller
    # is told to come back when the second reaches its limit (the pool kills it then), not 1 s.
    with ScriptPool(2, wait_seconds=0.05) as pair:
        pair.run("x = 1", data={})
        with ThreadPoolExecutor(2) as threads:
            runaways = [threads.submit(pair.run, "while True:\n    pass", data={},
                                       limits=Limits(cpu_seconds=30.0, wall_seconds=30.0))]  # fmt: skip
            while pair.idle == 2:
                time.sleep(0.01)
            before = time.monotonic()
            runaways.append(threads.submit(pair.run, "while True:\n    pass", data={},
                                           limits=Limits(cpu_seconds=20.0, wall_seconds=20.0)))  # fmt: skip
            while pair.idle:
                time.sleep(0.01)
            with pytest.raises(ScriptPoolBusy) as caught:
                pair.run("y = 2", data={})
            after = time.monotonic()
            for worker in list(pair._checkout.running):  # end the runaways now, not in 20 s
                os.kill(worker.process.pid, signal.SIGKILL)
            for runaway in runaways:
                with pytest.raises(ScriptRuntimeError):
                    runaway.result()
        # Between what is left of the 20 s limit, however long this test took, and 20 s.
        assert 20.0 - (after - before) <= caught.value.retry_after <= 20.0
        assert_pool_serves(pair)

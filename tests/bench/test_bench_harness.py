"""The benchmark harness works end to end; no test here asserts a speed.

``make bench`` takes minutes; this runs the same code at a tiny size in a
few seconds, so that a change to the runtime or the harness that breaks the
benchmark is caught by ``make test``.  gevent and uvloop are benchmark-only
packages: without them the harness leaves their servers out.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from deckext import benchlabels
from deckext.fingerprint import fingerprint
from microthread import WRITE, wait_fd
from microthread.loop import EventLoop, current_loop, set_loop

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))   # `bench` is the project's top-level package

from bench import echo, memory, micro  # noqa: E402
from bench.__main__ import C10K_KINDS, ECHO_KINDS  # noqa: E402
from bench.servers import all_servers, available  # noqa: E402

OURS_AND_ASYNCIO = ["green", "green-timeout", "callback", "threads",
                    "asyncio-streams", "asyncio-protocol", "green-eager",
                    "green-observed", "greenlet-bare", "greenlet-layered"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One tiny `python -m bench --quick` run, shared by the tests below."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler to build the benchmark's echo client")
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out / "b.json"),
         "--build-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "b.json").read_text())


def test_quick_run_writes_every_section_with_its_machine(quick_run):
    assert set(quick_run) == {"meta", "micro", "memory", "echo", "c10k"}
    meta = quick_run["meta"]
    assert meta["machine"]["cpus"] >= 1 and meta["versions"]["python"]
    assert meta["date"]
    assert set(quick_run["micro"]) == set(micro.MEASURES)


def test_the_deck_names_everything_the_benchmark_measures():
    """The data is numbers only, one file for both editions: every key it
    can hold has its name among the deck's words (deckext.benchlabels)."""
    assert set(benchlabels.LABELS["micro"]) == set(micro.MEASURES)
    assert set(benchlabels.LABELS["micro_includes"]) <= set(micro.MEASURES)
    assert set(benchlabels.LABELS["memory"]) == set(memory.KINDS)
    assert set(benchlabels.LABELS["servers"]) == set(all_servers())


def test_quick_run_records_the_code_every_part_measured(quick_run):
    code = quick_run["meta"]["code"]
    assert code["parts"] == dict.fromkeys(["micro", "memory", "echo", "c10k"],
                                          fingerprint(ROOT)["fingerprint"])
    assert "bench/micro.py" in code["files"]
    assert "src/microthread/hub.py" in code["files"]


def test_quick_run_measures_our_servers_and_asyncio_always(quick_run):
    table = quick_run["echo"]["n2"]
    expected = [k for k in ECHO_KINDS if k in OURS_AND_ASYNCIO or available(k)]
    assert sorted(table) == sorted(expected)
    for row in table.values():
        assert row["msgs"] > 0 and row["server_us"] >= 0
        assert row["msgs_min"] <= row["msgs"] <= row["msgs_max"]
        assert "vs_asyncio" in row
    assert sorted(quick_run["c10k"]) == sorted(
        k for k in C10K_KINDS if k in expected)
    rounds = quick_run["meta"]["settings"]["c10k_rounds"]
    for row in quick_run["c10k"].values():
        assert len(row["echo_rounds"]) == rounds
        assert 0 < row["echo_once_min_s"] <= row["echo_once_s"] \
            <= row["echo_once_max_s"]


def test_quick_run_reads_every_servers_memory_at_every_step(quick_run):
    steps = quick_run["meta"]["settings"]["c10k_steps"]
    for kind, row in quick_run["c10k"].items():
        assert list(row["rss_curve"]) == ["0", *map(str, steps)], kind
        assert all(mib > 0 for mib in row["rss_curve"].values()), kind
        assert row["rss_curve"][str(steps[-1])] == row["rss_mib"], kind
        assert "stopped" not in row, kind


CAPPED = """\
import socket, sys, threading
cap = int(sys.argv[1])
listener = socket.create_server(("127.0.0.1", 0))
print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)

def echo(conn):
    while data := conn.recv(65536):
        conn.sendall(data)

served = []
while True:
    conn, _ = listener.accept()
    if len(served) < cap:
        served.append(conn)
        threading.Thread(target=echo, args=(conn,), daemon=True).start()
    else:
        conn.close()
"""


def test_a_server_that_stops_accepting_keeps_the_memory_it_reached_and_says_why(
        tmp_path, monkeypatch):
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler to build the benchmark's echo client")
    (tmp_path / "capped.py").write_text(CAPPED)
    servers = {"capped": [str(tmp_path / "capped.py"), "6"],
               "callback": echo.all_servers()["callback"]}
    monkeypatch.setattr(echo, "all_servers", lambda: servers)
    binary = echo.build_client(tmp_path)
    data = echo.c10k(binary, ["capped", "callback"], steps=(4, 8, 16), rounds=2,
                     progress=lambda line: None)
    capped, callback = data["capped"], data["callback"]
    assert list(capped["rss_curve"]) == ["0", "4"]
    assert capped["stopped"].startswith("stopped after 4 connections: ")
    assert "client against capped" in capped["stopped"]
    assert "server closed the connection" in capped["stopped"] \
        or "reset" in capped["stopped"]
    assert "echo_rounds" not in capped                  # sat out the rounds
    assert list(callback["rss_curve"]) == ["0", "4", "8", "16"]
    assert len(callback["echo_rounds"]) == 2


def test_left_out_servers_are_named_in_the_data(quick_run):
    left_out = quick_run["meta"]["settings"]["left_out"]
    assert left_out == [k for k in ECHO_KINDS if not available(k)]


@pytest.mark.parametrize("run", [micro.thread_wakeup, micro.wait_fd_wakeup])
def test_the_wakeup_measures_leave_no_fd_thread_or_loop_behind(run):
    before = current_loop()
    fds = sorted(os.listdir("/proc/self/fd"))
    threads = threading.active_count()
    assert run(200) > 0
    assert sorted(os.listdir("/proc/self/fd")) == fds
    assert threading.active_count() == threads
    assert current_loop() is before


def test_every_bar_of_the_ladder_says_what_one_step_includes():
    ladder = ["greenlet_switch_ns", "thread_hop_pinned_ns", "process_hop_pinned_ns",
              "thread_wakeup_ns", "wait_fd_wakeup_ns", "getppid_ns"]
    includes = benchlabels.LABELS["micro_includes"]
    assert all(includes.get(key) for key in ladder)
    assert "GIL" in includes["thread_hop_pinned_ns"]
    assert "GIL" in includes["thread_wakeup_ns"]


def test_memory_of_parked_microthreads_is_measured_in_a_fresh_interpreter():
    assert memory.measure(count=20, kinds=["microthread"])["microthread"] > 0


def test_ratios_divide_by_the_reference_at_the_same_n():
    table = {"green": {"msgs": 150, "server_us": 10.0},
             "gevent": {"msgs": 100, "server_us": 20.0},
             "asyncio-protocol": {"msgs": 50, "server_us": 40.0}}
    echo.add_ratios(table, {"gevent": "gevent", "asyncio": "asyncio-protocol"})
    assert table["green"]["vs_gevent"] == 1.5
    assert table["green"]["vs_asyncio"] == 3.0
    assert table["green"]["cpu_vs_gevent"] == 2.0
    assert table["gevent"]["cpu_vs_asyncio"] == 2.0


def test_summary_reports_median_and_spread():
    runs = [{"msgs": m, "server_us": 10.0, "client_cpu": 0.5}
            for m in (3, 1, 2)]
    row = echo.summarize(runs)
    assert (row["msgs"], row["msgs_min"], row["msgs_max"]) == (2, 1, 3)
    assert row["runs"] == [3, 1, 2]


@pytest.mark.parametrize("lazy, watched_after_wait", [
    (True, WRITE),       # lazy: the kernel keeps watching, no epoll_ctl
    (False, 0),          # eager: trimmed at once, epoll_ctl every wait
])
def test_eager_loop_trims_the_kernel_mask_on_every_wait(lazy,
                                                         watched_after_wait):
    set_loop(EventLoop(lazy=lazy))
    left, right = socket.socketpair()
    try:
        wait_fd(left.fileno(), WRITE)
        assert current_loop().watches(left.fileno()) == watched_after_wait
    finally:
        current_loop().forget_fd(left.fileno())
        left.close()
        right.close()

"""Echo and C10K: every server against the same compiled client.

Ping-pong: N connections, one 64-byte message in flight on each; the
client counts round trips for a fixed time after a warm-up.  The client
runs on one CPU and the server on the other, so neither steals the
other's core; the server's CPU time comes from /proc/PID/stat over exactly
the measured window, which gives the fair figure on two cores: server CPU
microseconds per message.  Repeats are interleaved (every server once,
then every server again, in a rotating order), so a noisy minute hurts all
of them alike; we report medians and the spread.

C10K: 10,000 idle connections on every server at once; each one's
resident memory as they open (idle, then at 1,000, 2,000, 5,000 and 10,000),
KiB per connection over its idle size, and the time to echo once on all of
them at once: the median of rounds that interleave the servers, as the echo
repeats do, with the fastest and slowest.  A server that cannot take them
all keeps the memory it reached and says why it stopped, and sits out the
echo rounds.
"""

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .memory import rss_bytes
from .servers import all_servers

HOST = "127.0.0.1"
SIZE = 64
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent                  # servers run from here: -m bench.servers
TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A server or the client failed; the message says which and why."""


def build_client(out_dir):
    """Compile client.c with the machine's C compiler; return its path."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise BenchError("no C compiler (cc or gcc) to build the echo client")
    out = Path(out_dir) / "echo-client"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([cc, "-O2", "-Wall", "-o", str(out), str(HERE / "client.c")],
                   check=True)
    return out


def cpus():
    """(client CPU, server CPU): two different ones when there are two."""
    mine = sorted(os.sched_getaffinity(0))
    return mine[0], mine[-1]


def pin(cpu):
    return lambda: os.sched_setaffinity(0, {cpu})


def cpu_seconds(pid):
    """User + system CPU of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Server:
    """One server process, pinned to a CPU, stopped by SIGTERM."""

    def __init__(self, kind, cpu):
        self.kind = kind
        self.log = tempfile.TemporaryFile()
        args = all_servers()[kind]
        self.process = subprocess.Popen(
            [sys.executable, *args, "--host", HOST, "--port", "0"],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            cwd=ROOT, preexec_fn=pin(cpu))
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.stop()
            raise BenchError(f"server {kind} did not start: {self.errors()}")
        self.port = int(line.split()[2].rsplit(":", 1)[1])
        self.pid = self.process.pid

    def errors(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def client(binary, cpu, *args):
    return subprocess.Popen([str(binary), *map(str, args)], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=pin(cpu))


def read_line(proc, kind, expect):
    line = proc.stdout.readline()
    if not line.startswith(expect):
        proc.kill()
        raise BenchError(f"client against {kind}: expected {expect!r}, got "
                         f"{line!r}; {proc.communicate()[1].strip()}")
    return line.split()


def pingpong(binary, kind, conns, seconds, warmup):
    """One run: msg/s, server CPU µs per message, client CPU share."""
    client_cpu, server_cpu = cpus()
    with Server(kind, server_cpu) as server:
        proc = client(binary, client_cpu, "pingpong", HOST, server.port,
                      conns, seconds, SIZE, warmup)
        read_line(proc, kind, "start")
        cpu0 = cpu_seconds(server.pid)
        words = read_line(proc, kind, "stop")
        cpu1 = cpu_seconds(server.pid)
        proc.communicate()
    got = dict(word.split("=") for word in words[1:])
    messages, wall = int(got["messages"]), float(got["seconds"])
    return {"msgs": messages / wall,
            "server_us": (cpu1 - cpu0) / max(messages, 1) * 1e6,
            "client_cpu": float(got["cpu"]) / wall}


def summarize(runs):
    """Median and spread of interleaved runs of one server at one N."""
    msgs = [run["msgs"] for run in runs]
    return {"msgs": round(statistics.median(msgs)),
            "msgs_min": round(min(msgs)), "msgs_max": round(max(msgs)),
            "server_us": round(statistics.median(r["server_us"] for r in runs), 2),
            "client_cpu": round(statistics.median(r["client_cpu"] for r in runs), 3),
            "runs": [round(m) for m in msgs]}


def add_ratios(table, references):
    """Each server against each reference at that N: msg/s as a multiple
    (``vs_``), and CPU per message as a speed-up (``cpu_vs_``: 1.2 means
    it spends 1/1.2 of the reference's server CPU on a message)."""
    for row in table.values():
        for name, ref in references.items():
            if ref in table:
                row[f"vs_{name}"] = round(row["msgs"] / table[ref]["msgs"], 2)
                row[f"cpu_vs_{name}"] = round(
                    table[ref]["server_us"] / max(row["server_us"], 1e-9), 2)


def rotated(kinds, turn):
    """kinds starting at the turn-th, so that no server always goes first."""
    start = turn % len(kinds) if kinds else 0
    return kinds[start:] + kinds[:start]


def echo(binary, kinds, counts=(10, 100, 1000), repeats=3, seconds=5.0,
         warmup=0.5, progress=print):
    """{"n100": {kind: summary}, ...} over interleaved repeats."""
    runs = {(n, kind): [] for n in counts for kind in kinds}
    for repeat in range(repeats):
        for n in counts:
            for kind in rotated(kinds, repeat):
                run = pingpong(binary, kind, n, seconds, warmup)
                runs[n, kind].append(run)
                progress(f"echo N={n:<5} {kind:17} {run['msgs']:9.0f} msg/s "
                         f"{run['server_us']:6.1f} µs/msg  client CPU "
                         f"{run['client_cpu']:.0%}  (repeat {repeat + 1})")
    results = {}
    for n in counts:
        table = {kind: summarize(runs[n, kind]) for kind in kinds}
        add_ratios(table, {"gevent": "gevent", "asyncio": "asyncio-protocol"})
        results[f"n{n}"] = table
    return results


class Held:
    """One server holding connections idle from its own client.

    The client opens them in ``steps`` (ascending connection counts, the
    last one all of them) and pauses at each, each connection proven
    accepted by one echo, so ``curve`` maps a real count of open
    connections to the server's resident bytes, from 0 (the idle server)
    on.  A client that fails on the way leaves the counts it reached, and
    ``stopped`` says why.
    """

    def __init__(self, binary, kind, steps):
        client_cpu, server_cpu = cpus()
        self.kind = kind
        self.echoes = []
        self.stopped = None
        self.server = Server(kind, server_cpu)
        self.proc = None
        try:
            self.curve = {0: rss_bytes(self.server.pid)}
            self.proc = client(binary, client_cpu, "c10k", HOST,
                               self.server.port, steps[-1], SIZE, *steps[:-1])
            self._open(steps)
        except BaseException:
            self.close()
            raise

    def _open(self, steps):
        try:
            for step in steps[:-1]:
                read_line(self.proc, self.kind, f"opened {step}")
                self.curve[step] = self._settled_rss()
                self.proc.stdin.write("more\n")
                self.proc.stdin.flush()
            self.open_s = float(read_line(self.proc, self.kind, "held")[1])
        except BenchError as error:
            self.stopped = f"stopped after {max(self.curve):,} connections: {error}"
            if self.server.process.poll() is not None:
                self.stopped += (f"; the server exited with status "
                                 f"{self.server.process.returncode}")
            return
        self.curve[steps[-1]] = self.rss = self._settled_rss()
        self.kib_per_conn = (self.rss - self.curve[0]) / steps[-1] / 1024

    def _settled_rss(self):
        time.sleep(0.2)                         # let the last handlers park
        return rss_bytes(self.server.pid)

    def echo_once(self):
        """Echo once on every connection at once; returns the seconds."""
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        seconds = float(read_line(self.proc, self.kind, "echoed")[1])
        self.echoes.append(seconds)
        return seconds

    def close(self):
        """End the client, whatever state it is in, then the server."""
        try:
            if self.proc is not None:
                self._end_client()
        finally:
            self.server.stop()

    def _end_client(self):
        proc = self.proc
        try:                                    # "done" ends it; exited: reap
            proc.communicate(None if proc.poll() is not None else "done\n",
                             timeout=30)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            proc.kill()                         # stuck or gone halfway
            proc.communicate()

    def summary(self):
        curve = {str(n): mib(rss) for n, rss in self.curve.items()}
        if self.stopped:
            return {"rss_curve": curve, "stopped": self.stopped}
        echoes = self.echoes
        return {"rss_mib": mib(self.rss), "rss_curve": curve,
                "kib_per_conn": round(self.kib_per_conn, 2),
                "open_s": round(self.open_s, 6),
                "echo_once_s": round(statistics.median(echoes), 6),
                "echo_once_min_s": round(min(echoes), 6),
                "echo_once_max_s": round(max(echoes), 6),
                "echo_rounds": [round(s, 6) for s in echoes]}


def mib(size):
    return round(size / 2**20, 1)


def c10k(binary, kinds, steps=(1000, 2000, 5000, 10000), rounds=5,
         progress=print):
    """Every server holds steps[-1] connections at once; rounds interleave.

    Each server's memory is read at each step as its connections open.
    Each round echoes once on every server in turn, in a rotating order,
    so a slow minute of this shared machine falls on all of them alike.
    """
    with contextlib.ExitStack() as stack:
        held = {}
        for kind in kinds:
            held[kind] = Held(binary, kind, steps)
            stack.callback(held[kind].close)
            curve = "  ".join(f"{n}: {mib(rss)}"
                              for n, rss in held[kind].curve.items())
            progress(f"C10K {kind:17} MiB at each count of connections: {curve}"
                     + (f"; {held[kind].stopped}" if held[kind].stopped else
                        f"; {held[kind].kib_per_conn:.2f} KiB/conn"))
        holding = [kind for kind in kinds if not held[kind].stopped]
        for turn in range(rounds):
            for kind in rotated(holding, turn):
                seconds = held[kind].echo_once()
                progress(f"C10K {kind:17} echo once on all {seconds:.3f} s "
                         f"(round {turn + 1})")
                time.sleep(0.05)                # let its handlers park again
        return {kind: held[kind].summary() for kind in kinds}

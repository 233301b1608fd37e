"""The echo server as a program: one process or forked workers, the
open-file limit, stop signals, and the command line.

The styles it serves are ``microthread.echo``'s; this module only starts
them, as a user would from a shell.  Run ``python -m microthread.server
--help``.
"""

import argparse
import os
import resource
import signal
import socket
import sys
import traceback

from .echo import STOP_SIGNALS, STYLES, on_stop_signals
from .green import CannotListen, bind

__all__ = ["main", "serve", "run_workers", "parse_args"]

SPARE_FDS = 32              # listener, poller, wakeup fd, stdio, a few more
MAX_WORKERS = 256           # forked processes: more is a typo, not a plan
MAX_IDLE = 365 * 86400      # seconds; a socket timeout must fit a time_t
MAX_CONNECTIONS = 10 ** 7   # beyond any open-file limit


def raise_open_file_limit(connections):
    """Lift the soft open-file limit to the hard one; say if still too low.

    Every connection costs an fd; the usual soft limit of 1024 would stop a
    server long before memory or CPU do.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + SPARE_FDS
    target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    except (ValueError, OSError):
        pass                                # keep the soft limit we have
    if soft < wanted:
        print(f"open-file limit {soft} is below the {connections} "
              f"connections asked for; raise it with ulimit -n",
              file=sys.stderr, flush=True)
    return soft


def announce(host, port, style):
    """The one line on stdout that tells tests and benchmarks the port."""
    print(f"listening on {host}:{port} (style {style}, pid {os.getpid()})",
          flush=True)


# -- one process, or several workers ---------------------------------------

def serve(options):
    """Serve in this process; the announcement follows the listener."""
    listener = bind(options.host, options.port)
    port = listener.getsockname()[1]
    STYLES[options.style](listener, options,
                          lambda: announce(options.host, port, options.style))
    return 0


def run_workers(options):
    """Fork workers that share one port; forward stop signals; wait for all.

    With ``--port 0`` a probe socket picks the port and holds it, with
    SO_REUSEPORT, until every worker listens on it.  Stop signals stay
    blocked while forking, so a child never runs the parent's handler.
    """
    probe = bind(options.host, options.port, reuse_port=True, backlog=None)
    port = probe.getsockname()[1]
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    ready_read, ready_write = os.pipe()
    pids = [fork_worker(options, port, probe, ready_read, ready_write)
            for _ in range(options.workers)]
    os.close(ready_write)
    started = wait_for_workers(ready_read)
    probe.close()
    forward_signals(pids)
    if started < len(pids):
        print(f"only {started} of {len(pids)} workers started; stopping",
              file=sys.stderr, flush=True)
        signal_workers(pids, signal.SIGTERM)
        reap(pids)
        return 1
    announce(options.host, port, options.style)
    return reap(pids)


def fork_worker(options, port, probe, ready_read, ready_write):
    """Fork one worker: it binds the port and serves on a loop of its own.

    The runtime drops the parent's loop in a fork child, so the style's
    ``get_loop()`` makes a fresh one: a child never touches the parent's
    epoll.
    """
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        probe.close()
        os.close(ready_read)
        listener = bind(options.host, port, reuse_port=True)
        STYLES[options.style](listener, options,
                              lambda: report_ready(ready_write))
        status = 0
    except CannotListen as error:
        print(f"worker {os.getpid()}: {error.strerror}", file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def report_ready(ready_write):
    """A worker listens: one byte on the pipe, then its end is closed."""
    os.write(ready_write, b"!")
    os.close(ready_write)


def wait_for_workers(ready_read):
    """Count the workers that listen; EOF comes once each started or died."""
    started = 0
    while chunk := os.read(ready_read, 64):
        started += len(chunk)
    os.close(ready_read)
    return started


def forward_signals(pids):
    """Pass SIGINT and SIGTERM on to the workers."""
    on_stop_signals(lambda signum, frame: signal_workers(pids, signum))


def signal_workers(pids, signum):
    """Signal every worker not reaped yet (``reap`` drops the others)."""
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass                            # exited, not reaped yet


def reap(pids):
    """Wait for every worker; 0 only if each one exited 0."""
    status = 0
    while pids:
        pid, code = os.waitpid(pids[0], 0)
        pids.remove(pid)
        status = status or os.waitstatus_to_exitcode(code)
    return 0 if status == 0 else 1


def port_number(text):
    """argparse type: a TCP port, 0 to 65535 (0: pick a free one)."""
    port = _number(text, int, "a port number")
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"port {port} is out of range: use 0 to 65535 (0 picks one)")
    return port


def address(text):
    """argparse type: an IPv4 address or ``localhost``, never a DNS name.

    The server speaks IPv4; a name other than localhost would need a
    lookup, which can hang with no network and answers nothing to listen on.
    """
    if text == "localhost":
        return "127.0.0.1"
    try:
        socket.inet_pton(socket.AF_INET, text)
    except OSError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IPv4 address (or localhost)") from None
    return text


def positive(kind, what, most):
    """argparse type: a number above zero, and at most ``most``."""
    def parse(text):
        value = _number(text, kind, what)
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {what} above zero")
        if value > most:
            raise argparse.ArgumentTypeError(f"{text!r} is over {most:g}")
        return value
    parse.__name__ = what
    return parse


def _number(text, kind, what):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {what}") from None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m microthread.server",
        description="Echo server in one of three styles; serves until "
                    "SIGINT or SIGTERM.")
    parser.add_argument("--host", type=address, default="127.0.0.1",
                        help="IPv4 address to bind, or localhost "
                             "(default: %(default)s)")
    parser.add_argument("--port", type=port_number, default=0,
                        help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--style", choices=sorted(STYLES), default="green",
                        help="microthreads, loop callbacks or OS threads")
    parser.add_argument("--workers",
                        type=positive(int, "a whole number", MAX_WORKERS),
                        default=1,
                        help="processes sharing the port (SO_REUSEPORT)")
    parser.add_argument("--idle-timeout",
                        type=positive(float, "a finite number", MAX_IDLE),
                        metavar="SECONDS",
                        help="close connections silent for this long")
    parser.add_argument("--max-connections",
                        type=positive(int, "a whole number", MAX_CONNECTIONS),
                        default=10000,
                        help="connections the open-file limit must allow "
                             "(default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None):
    options = parse_args(argv)
    raise_open_file_limit(options.max_connections)
    try:
        if options.workers > 1:
            return run_workers(options)
        return serve(options)
    except CannotListen as error:
        print(error.strerror, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""C10K: the echo server holds 10,000 connections and echoes on every one.

Too slow and too greedy for fds to run in the suite (pytest does not
collect this file).  Run it by hand:

    .venv/bin/python tests/c10k_check.py [--connections 10000] [STYLE ...]

For each style it opens the connections in batches (each proven accepted
by one echo), then echoes once more on all of them at once, and prints the
time taken and the server's resident memory.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_echo import clients, echo_server, exchange, open_file_limit  # noqa


def check(style, count):
    """Hold count connections on one server; return what was measured."""
    with open_file_limit(count + 100), echo_server(style) as server:
        idle_rss = server.rss()
        start = time.monotonic()
        with clients(server.port, count, timeout=120) as socks:
            opened = time.monotonic() - start
            payloads = [b"connection %d" % n for n in range(count)]
            start = time.monotonic()
            assert exchange(socks, payloads, timeout=60) == payloads
            echoed = time.monotonic() - start
            held_rss = server.rss()
        assert server.stop() == 0
    return (f"{style:9} {count} connections held: opened and echoed in "
            f"{opened:.2f} s, one echo on all at once in {echoed:.2f} s, "
            f"server RSS {idle_rss / 2**20:.1f} MiB idle, "
            f"{held_rss / 2**20:.1f} MiB with all held")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("styles", nargs="*", default=["green", "callback"])
    options = parser.parse_args()
    for style in options.styles:
        print(check(style, options.connections), flush=True)


if __name__ == "__main__":
    main()

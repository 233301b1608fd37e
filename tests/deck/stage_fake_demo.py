"""A stand-in for ``python -m microthread.demos`` in the stage's tests.

    python stage_fake_demo.py run NAME [--counterfactual]

It takes the same command line, and for any NAME behaves as a demo caught
in the middle of its run: it forks, as demos do, each of the two processes
prints its pid on a line of its own, and both wait (30 s at most, so that
even a broken stage leaves nothing behind for long).  A test reads the pids
from the stream, ends the run one way or another, and checks that both
processes are gone.
"""

import os
import sys
import time

WAIT = 30.0


def main():
    if sys.argv[1:2] != ['run'] or len(sys.argv) not in (3, 4):
        sys.exit(f'usage: {sys.argv[0]} run NAME [--counterfactual]')
    print(f'{sys.argv[2]}: parent {os.getpid()}', flush=True)
    if os.fork() == 0:
        print(f'{sys.argv[2]}: child {os.getpid()}', flush=True)
    time.sleep(WAIT)


if __name__ == '__main__':
    main()

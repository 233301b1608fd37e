"""What the stage's tests share: a stage serving from a thread, the fake
demo's command, and whether a process is still there."""

import contextlib
import os
import re
import sys
import threading
import time
from pathlib import Path

from deckext.stage import Stage

FAKE_DEMO = (sys.executable, str(Path(__file__).with_name('stage_fake_demo.py')))
PIDS = re.compile(r': (?:parent|child) (\d+)')
BOUND = 10.0      # s any condition here may take before the test fails


@contextlib.contextmanager
def serving(deck_dir, **options):
    """A Stage for deck_dir on a free port of 127.0.0.1, serving from a thread."""
    stage = Stage(deck_dir, **options)
    thread = threading.Thread(target=stage.serve_forever, daemon=True)
    thread.start()
    try:
        yield stage
    finally:
        stage.shutdown()
        stage.server_close()
        thread.join(BOUND)


def alive(pid):
    """Whether process pid runs: it exists and is not a zombie (a zombie has
    ended; only its exit status waits for its parent)."""
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except (FileNotFoundError, ProcessLookupError):   # gone before, or while, read
        return False
    return stat[stat.rindex(')') + 2] != 'Z'


def group_members(pgid):
    """The pids of the running processes in process group pgid."""
    members = []
    for pid in (int(name) for name in os.listdir('/proc') if name.isdigit()):
        try:
            if os.getpgid(pid) == pgid and alive(pid):
                members.append(pid)
        except ProcessLookupError:
            pass                          # gone while we looked
    return members


def wait_until(condition, what, bound=BOUND):
    """Return once condition() is true; fail naming what after bound seconds."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f'after {bound:g} s: {what}')
        time.sleep(0.01)

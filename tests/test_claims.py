"""Every claim behind a 实测 slide holds, and fails with its cause removed.

Each claim runs as a user runs it, ``python -m microthread.demos run NAME``,
once as the slide shows it and once with ``--counterfactual``; the exit
status and the verdict line are both asserted, so a crash can never pass
for the refutation the counterfactual must give.
"""

import os
import subprocess
import sys

import pytest

from microthread.demos import __main__ as cli
from microthread.demos.claims import CLAIMS, Outcome, Skipped

HOLDS, REFUTED, SKIPPED = 0, 1, 3
NO_COUNTERFACTUAL = {"thread-models"}    # a claim of structure


def can_use_sched_fifo():
    """Whether this process may put a child under SCHED_FIFO (CAP_SYS_NICE)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except PermissionError:
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


def run_claim(*args, preexec_fn=None):
    done = subprocess.run(
        [sys.executable, "-m", "microthread.demos", "run", *args],
        capture_output=True, text=True, timeout=60, preexec_fn=preexec_fn)
    return done.returncode, done.stdout.strip(), done.stderr


def replace_check(monkeypatch, name, check):
    """Claim ``name`` as it is, but checked by ``check``."""
    claim = CLAIMS[name]
    monkeypatch.setitem(CLAIMS, name,
                        type(claim)(**{**claim.__dict__, "check": check}))


def expected_counterfactual(name):
    if name in NO_COUNTERFACTUAL:
        return SKIPPED, "skipped"
    if name == "preemption" and not can_use_sched_fifo():
        return SKIPPED, "skipped"
    return REFUTED, "refuted"


def test_list_names_every_claim_the_slides_prove():
    done = subprocess.run([sys.executable, "-m", "microthread.demos", "list"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    named = done.stdout.split()
    assert named == list(CLAIMS)
    assert {"preemption", "address-space", "thread-is-a-task",
            "blocked-reader", "heartbeat", "switch-interval", "lost-update",
            "starvation", "detector", "switch-points",
            "player-race"} <= set(named)


@pytest.mark.parametrize("name", list(CLAIMS))
def test_the_claim_holds_as_the_slide_shows_it(name):
    status, line, errors = run_claim(name)
    assert (status, line.partition(" — ")[0]) == (HOLDS, f"{name}: holds"), \
        errors
    assert CLAIMS[name].says in line


@pytest.mark.parametrize("name", list(CLAIMS))
def test_the_same_check_fails_with_the_cause_taken_away(name):
    status, line, errors = run_claim(name, "--counterfactual")
    expected, verdict = expected_counterfactual(name)
    assert status == expected, (line, errors)
    assert line.startswith(f"{name} --counterfactual")
    assert f": {verdict} — {CLAIMS[name].says}" in line


def test_preemption_is_refuted_when_the_whole_run_has_no_time_slices():
    if not can_use_sched_fifo():
        pytest.skip("SCHED_FIFO needs CAP_SYS_NICE")
    status, line, errors = run_claim(
        "preemption", preexec_fn=lambda: os.sched_setscheduler(
            0, os.SCHED_FIFO, os.sched_param(1)))
    assert status == REFUTED, (line, errors)
    assert line.startswith("preemption: refuted — ")


def test_a_check_that_crashes_is_an_error_never_a_refutation(
        monkeypatch, capsys):
    def broken(counterfactual):
        raise ZeroDivisionError("inside the check")
    replace_check(monkeypatch, "lost-update", broken)
    assert cli.main(["run", "lost-update"]) not in (HOLDS, REFUTED, SKIPPED)
    assert "error — ZeroDivisionError: inside the check" in \
        capsys.readouterr().err


@pytest.mark.parametrize("how", ["exit(1)", "None", "print"])
def test_no_crash_anywhere_in_a_run_reads_as_a_verdict(monkeypatch, how):
    check = {"exit(1)": lambda cf: sys.exit(1),      # a check that exits
             "None": lambda cf: None,                # returns no Outcome
             "print": CLAIMS["lost-update"].check}[how]
    replace_check(monkeypatch, "lost-update", check)
    if how == "print":                               # the verdict can't print
        monkeypatch.setattr(cli, "_say", lambda line: line.encode("ascii"))
    assert cli.main(["run", "lost-update"]) == 4


def test_a_verdict_reaches_a_terminal_that_cannot_show_chinese():
    done = subprocess.run(
        [sys.executable, "-m", "microthread.demos", "run", "lost-update"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert done.returncode == HOLDS, done.stderr
    assert done.stdout.startswith("lost-update: holds \\u2014 ")


def test_a_skipped_check_exits_3_and_says_why(monkeypatch, capsys):
    def cannot(counterfactual):
        raise Skipped("no such capability here")
    replace_check(monkeypatch, "preemption", cannot)
    assert cli.main(["run", "preemption"]) == SKIPPED
    assert "preemption: skipped — " in capsys.readouterr().out


def test_an_unknown_claim_is_a_usage_error_naming_it(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["run", "no-such-claim"])
    assert exit.value.code == 2
    assert "'no-such-claim'" in capsys.readouterr().err


def test_an_outcome_is_what_decides_the_exit_status(monkeypatch):
    for holds, status in ((True, HOLDS), (False, REFUTED)):
        outcome = Outcome(holds, "by hand")
        replace_check(monkeypatch, "starvation", lambda cf, o=outcome: o)
        assert cli.main(["run", "starvation"]) == status

"""``python -m microthread.demos``: the slides' claims, run on demand.

    python -m microthread.demos list
    python -m microthread.demos run preemption
    python -m microthread.demos run preemption --counterfactual

``run`` prints one verdict line and exits 0 if the claim holds, 1 if it is
refuted (what its counterfactual must give), 3 if the check was skipped
here (the line says why).  Any other status is an error, and an error is
never 1: a crash anywhere -- importing the checks, running one, printing
its verdict -- cannot pass for a refutation.
"""

import argparse
import sys
import traceback

HOLDS, REFUTED, SKIPPED, ERROR, INTERRUPTED = 0, 1, 3, 4, 130


def main(argv=None):
    try:
        from .claims import CLAIMS
    except BaseException:
        return _crashed()
    options = _parser(CLAIMS).parse_args(argv)    # a usage error exits 2
    try:
        if options.command == "list":
            _say("\n".join(CLAIMS))
            return HOLDS
        return run(options.name, options.counterfactual)
    except KeyboardInterrupt:
        return INTERRUPTED
    except BaseException:          # SystemExit from a check too: never 1
        return _crashed()


def _crashed():
    error = sys.exc_info()[1]
    traceback.print_exc()
    print(f"error — {type(error).__name__}: {error}", file=sys.stderr)
    return ERROR


def run(name, counterfactual):
    from .claims import CLAIMS, Outcome, Skipped, check
    claim = CLAIMS[name]
    world = name
    if counterfactual:
        world += " --counterfactual"
        world += f"（{claim.without}）" if claim.without else ""
    try:
        outcome = check(name, counterfactual)
    except Skipped as reason:
        _say(f"{world}: skipped — {claim.says}: {reason}")
        return SKIPPED
    if not isinstance(outcome, Outcome):
        raise TypeError(f"check of {name} gave {outcome!r}, not an Outcome")
    verdict = "holds" if outcome.holds else "refuted"
    _say(f"{world}: {verdict} — {claim.says}（{outcome.evidence}）")
    return HOLDS if outcome.holds else REFUTED


def _say(line):
    """Print a line whatever the terminal's encoding: the verdict must
    reach the reader, and a failure to print it must not read as one."""
    encoding = sys.stdout.encoding or "utf-8"
    sys.stdout.write(line.encode(encoding, "backslashreplace")
                     .decode(encoding) + "\n")
    sys.stdout.flush()


def _parser(claims):
    parser = argparse.ArgumentParser(
        prog="python -m microthread.demos",
        description="Run the claims behind the slides, and their "
                    "counterfactuals.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="name every claim, one a line")
    run_one = commands.add_parser(
        "run", help="check one claim: exit 0 holds, 1 refuted, 3 skipped")
    run_one.add_argument("name", choices=list(claims), metavar="NAME",
                         help="a claim (see list)")
    run_one.add_argument("--counterfactual", action="store_true",
                         help="run the same check with the claim's cause "
                              "taken away")
    return parser


if __name__ == "__main__":
    sys.exit(main())

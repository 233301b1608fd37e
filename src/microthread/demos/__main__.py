"""``python -m microthread.demos``: the slides' claims, run on demand.

    python -m microthread.demos list
    python -m microthread.demos run preemption
    python -m microthread.demos run preemption --counterfactual
    python -m microthread.demos run preemption --lang en

``run`` prints one verdict line and exits 0 if the claim holds, 1 if it is
refuted (what its counterfactual must give), 3 if the check was skipped
here (the line says why).  Any other status is an error, and an error is
never 1: a crash anywhere -- importing the checks, running one, printing
its verdict -- cannot pass for a refutation.

``--lang en`` prints the line in English for the slides' English edition
(``--lang zh``, the default, in Chinese); see ``english`` for how.
"""

import argparse
import sys
import traceback

HOLDS, REFUTED, SKIPPED, ERROR, INTERRUPTED = 0, 1, 3, 4, 130


def main(argv=None):
    try:
        from .claims import CLAIMS
        from .english import LANGUAGES, speaking
    except BaseException:
        return _crashed()
    options = _parser(CLAIMS, LANGUAGES).parse_args(argv)   # usage error: 2
    try:
        if options.command == "list":
            _say("\n".join(CLAIMS))
            return HOLDS
        with speaking(options.lang):
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
    """Check claim ``name`` and print its verdict line, in the language
    ``english.say`` speaks."""
    from .claims import CLAIMS, Outcome, Skipped, check
    from .english import say
    claim = CLAIMS[name]
    world, says = _world(name, claim, counterfactual), say(claim.says)
    try:
        outcome = check(name, counterfactual)
    except Skipped as reason:
        _say(f"{world}: skipped — {says}: {reason}")
        return SKIPPED
    if not isinstance(outcome, Outcome):
        raise TypeError(f"check of {name} gave {outcome!r}, not an Outcome")
    verdict = "holds" if outcome.holds else "refuted"
    _say(say("{world}: {verdict} — {says}（{evidence}）", world=world,
             verdict=verdict, says=says, evidence=outcome.evidence))
    return HOLDS if outcome.holds else REFUTED


def _world(name, claim, counterfactual):
    """The line's head: the claim, and in its counterfactual what that
    takes away."""
    from .english import say
    if not counterfactual:
        return name
    world = f"{name} --counterfactual"
    if not claim.without:          # a claim of structure takes nothing away
        return world
    return say("{world}（{without}）", world=world, without=say(claim.without))


def _say(line):
    """Print a line whatever the terminal's encoding: the verdict must
    reach the reader, and a failure to print it must not read as one."""
    encoding = sys.stdout.encoding or "utf-8"
    sys.stdout.write(line.encode(encoding, "backslashreplace")
                     .decode(encoding) + "\n")
    sys.stdout.flush()


def _parser(claims, languages):
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
    run_one.add_argument("--lang", choices=languages, default=languages[0],
                         help="the language of the verdict line "
                              "(default: %(default)s)")
    return parser


if __name__ == "__main__":
    sys.exit(main())

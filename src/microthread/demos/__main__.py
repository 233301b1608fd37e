"""``python -m microthread.demos``: the slides' claims, run on demand.

    python -m microthread.demos list
    python -m microthread.demos run preemption
    python -m microthread.demos run preemption --counterfactual

``run`` prints one verdict line and exits 0 if the claim holds, 1 if it is
refuted (what its counterfactual must give), 3 if the check was skipped
here (the line says why).  Any other status is an error, and an error is
never 1: a crash cannot pass for a refutation.
"""

import argparse
import sys
import traceback

from .claims import CLAIMS, Skipped, check

HOLDS, REFUTED, SKIPPED, ERROR = 0, 1, 3, 4


def main(argv=None):
    options = _parser().parse_args(argv)
    if options.command == "list":
        for name in CLAIMS:
            print(name)
        return HOLDS
    return run(options.name, options.counterfactual)


def run(name, counterfactual):
    claim = CLAIMS[name]
    world = name
    if counterfactual:
        world += " --counterfactual"
        world += f"（{claim.without}）" if claim.without else ""
    try:
        outcome = check(name, counterfactual)
    except Skipped as reason:
        print(f"{world}: skipped — {claim.says}: {reason}")
        return SKIPPED
    except BaseException as error:        # never exit 1 on a crash
        traceback.print_exc()
        print(f"{world}: error — {type(error).__name__}: {error}",
              file=sys.stderr)
        return 130 if isinstance(error, KeyboardInterrupt) else ERROR
    verdict = "holds" if outcome.holds else "refuted"
    print(f"{world}: {verdict} — {claim.says}（{outcome.evidence}）")
    return HOLDS if outcome.holds else REFUTED


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m microthread.demos",
        description="Run the claims behind the slides, and their "
                    "counterfactuals.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="name every claim, one a line")
    run_one = commands.add_parser(
        "run", help="check one claim: exit 0 holds, 1 refuted, 3 skipped")
    run_one.add_argument("name", choices=list(CLAIMS), metavar="NAME",
                         help="a claim (see list)")
    run_one.add_argument("--counterfactual", action="store_true",
                         help="run the same check with the claim's cause "
                              "taken away")
    return parser


if __name__ == "__main__":
    sys.exit(main())

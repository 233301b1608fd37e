"""``python -m bench``: measure everything and write the data file.

    python -m bench                       # the full run, as `make bench` does
    python -m bench --quick --out X.json  # seconds, for the smoke test

The full run takes about fifteen minutes on two cores.  Servers whose library
is not installed (gevent, uvloop) are left out, and the data file says so.
Beside each part it measured, the data file records the fingerprint of the
code it measured (deckext.fingerprint); a part kept from an earlier run
keeps the fingerprint it was measured on, so a slide can tell.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from deckext.fingerprint import fingerprint

from . import echo, machine, memory, micro
from .servers import available

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path("slides/data/bench.json")
PARTS = ["micro", "memory", "echo", "c10k"]
ECHO_KINDS = ["green", "green-timeout", "callback", "threads",
              "asyncio-streams", "asyncio-protocol", "uvloop", "gevent",
              "green-eager", "green-observed", "greenlet-bare",
              "greenlet-layered"]
C10K_KINDS = ["green", "callback", "threads", "asyncio-protocol", "uvloop",
              "gevent", "greenlet-bare", "greenlet-layered"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="data file to write (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run that only proves the harness works")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help="comma-separated parts to run (default: all); "
                             "the others keep their values from --out")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="measured seconds per echo run")
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved repeats per server and N")
    parser.add_argument("--build-dir", type=Path, default=Path("_build/bench"),
                        help="where the compiled client goes")
    return parser.parse_args(argv)


def settings(options):
    if options.quick:
        return {"micro_scale": 0.002, "micro_repeats": 1, "park": 50,
                "park_threads": 20, "counts": [2], "repeats": 1,
                "seconds": 0.2, "warmup": 0.05, "c10k_steps": [5, 10, 20],
                "c10k_rounds": 2}
    return {"micro_scale": 1.0, "micro_repeats": 7, "park": 10000,
            "park_threads": 1000, "counts": [10, 100, 1000],
            "repeats": options.repeats, "seconds": options.seconds,
            "warmup": 0.5, "c10k_steps": [1000, 2000, 5000, 10000],
            "c10k_rounds": 7}


def progress(line):
    print(line, file=sys.stderr, flush=True)


def run(options):
    setup = settings(options)
    parts = set(options.parts.split(","))
    data = {}
    if options.out.exists() and parts != set(PARTS):
        data = json.loads(options.out.read_text())
    data["meta"] = {**machine.describe(),
                    "code": code_measured(data.get("meta", {}), parts)}
    data["meta"]["load_before"] = [round(x, 2) for x in os.getloadavg()]
    kinds = [kind for kind in ECHO_KINDS if available(kind)]
    data["meta"]["settings"] = {**setup, "client_cpu": echo.cpus()[0],
                                "server_cpu": echo.cpus()[1],
                                "left_out": [k for k in ECHO_KINDS
                                             if k not in kinds]}
    data.pop("labels", None)    # the deck's words now (deckext/benchlabels.py)
    if "micro" in parts:
        started = time.monotonic()
        data["micro"] = micro.measure(setup["micro_scale"], setup["micro_repeats"])
        progress(f"micro-costs in {time.monotonic() - started:.0f} s: "
                 f"{data['micro']}")
    if "memory" in parts:
        data["memory"] = memory.measure(
            setup["park"], setup["park_threads"],
            [k for k in memory.KINDS if available(memory.NEEDS.get(k, k))])
        progress(f"idle memory, KiB per task: {data['memory']}")
    binary = echo.build_client(options.build_dir)
    if "echo" in parts:
        data["echo"] = echo.echo(binary, kinds, setup["counts"],
                                 setup["repeats"], setup["seconds"],
                                 setup["warmup"], progress)
    if "c10k" in parts:
        data["c10k"] = echo.c10k(binary, [k for k in C10K_KINDS if k in kinds],
                                 setup["c10k_steps"], setup["c10k_rounds"],
                                 progress)
    data["meta"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return data


def code_measured(old_meta, parts):
    """The fingerprint of this tree for the parts measured now; the others
    keep theirs (None: measured before fingerprints were recorded)."""
    code = fingerprint(ROOT)
    kept = old_meta.get("code", {}).get("parts", {})
    return {"files": code["files"],
            "parts": {part: code["fingerprint"] if part in parts
                      else kept.get(part) for part in PARTS}}


def write(data, out):
    """Write atomically: a half-written data file would break the build."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, delete=False,
                                     suffix=".tmp") as tmp:
        json.dump(data, tmp, indent=1, ensure_ascii=False)
        tmp.write("\n")
    os.replace(tmp.name, out)


def main(argv=None):
    options = parse_args(argv)
    write(run(options), options.out)
    progress(f"wrote {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

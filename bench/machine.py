"""What the numbers were measured on: machine, versions, date."""

import datetime
import os
import platform
import subprocess
from importlib import metadata


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib():
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                 / 2**30, 1)


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _compiler(cc):
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True)
        return out.stdout.splitlines()[0]
    except (OSError, IndexError):
        return None


def describe(cc="cc"):
    """A dict for the data file's "meta" section."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc)
                        .strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpu": _cpu_model(),
            "cpus": os.cpu_count(),
            "memory_gib": _memory_gib(),
            "kernel": platform.release(),
            "system": platform.system(),
        },
        "versions": {
            "python": platform.python_version(),
            "greenlet": _version("greenlet"),
            "gevent": _version("gevent"),
            "uvloop": _version("uvloop"),
            "cc": _compiler(cc),
        },
    }

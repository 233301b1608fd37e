"""deckext.numbers renders the benchmark's data file into the slides.

Unit tests of the formatting and the SVG, then a real Sphinx build of a
tiny project that uses every role and directive, and one that asks for a
value the data file lacks: it must fail with the file and line.
"""

import json
import subprocess
import sys
import xml.dom.minidom

import pytest

from deckext import numbers

DATA = {
    "meta": {"date": "2026-01-01 00:00 UTC",
             "machine": {"cpu": "Test CPU", "cpus": 2},
             "versions": {"python": "3.11.7", "gevent": None, "cc": "gcc"}},
    "labels": {"micro": {"function_call_ns": "函数调用", "getppid_ns": "getppid"},
               "memory": {"microthread": "微线程"},
               "servers": {"green": "微线程", "gevent": "gevent"}},
    "micro": {"function_call_ns": 32.4, "getppid_ns": 322.1},
    "memory": {"microthread": 6.04},
    "echo": {"n100": {"green": {"msgs": 51234, "server_us": 19.5, "vs_gevent": 1.23},
                      "gevent": {"msgs": 41654, "server_us": 24.0, "vs_gevent": 1.0}}},
    "c10k": {"green": {"rss_mib": 88.1, "kib_per_conn": 7.4, "echo_once_s": 0.21}},
}


@pytest.mark.parametrize("value, ratio, text", [
    (32.44, False, "32.4"), (322.1, False, "322"), (51234, False, "51,234"),
    (7.404, False, "7.40"), (1.234, True, "1.23×"), (12.6, True, "13×"),
])
def test_numbers_read_as_a_slide_shows_them(value, ratio, text):
    assert numbers.number(value, ratio) == text


def test_an_expression_divides_two_values_into_a_ratio():
    assert numbers.render_expression(
        DATA, "micro.getppid_ns / micro.function_call_ns") == "9.94×"
    assert numbers.render_expression(DATA, "echo.n100.green.vs_gevent") == "1.23×"


def test_a_missing_key_is_named_with_what_is_there():
    with pytest.raises(numbers.BenchDataError, match="no 'n10' in echo .has: n100"):
        numbers.lookup(DATA, "echo.n10.green.msgs")


def test_the_chart_is_well_formed_svg_with_a_bar_per_value():
    svg = numbers.svg_bars([("a", [1, 2]), ("b", [3, 4])], ["x", "y"])
    document = xml.dom.minidom.parseString(svg)
    rects = document.getElementsByTagName("rect")
    assert len(rects) == 2 + 4            # the legend's two, then the bars
    widths = [float(r.getAttribute("width")) for r in rects[2:]]
    assert widths == sorted(widths) and widths[-1] <= 760


def build(tmp_path, body):
    (tmp_path / "data.json").write_text(json.dumps(DATA), encoding="utf-8")
    (tmp_path / "conf.py").write_text(
        "extensions = ['deckext']\nbench_data = 'data.json'\n"
        "exclude_patterns = ['_build']\n")
    (tmp_path / "index.rst").write_text("Numbers\n=======\n\n" + body,
                                        encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "--no-color", "-b", "html", "-W",
         "-E", str(tmp_path), str(tmp_path / "_build")],
        capture_output=True, text=True)


def test_role_and_directives_render_at_build_time(tmp_path):
    done = build(tmp_path, """\
A system call costs :bench:`micro.getppid_ns` ns,
:bench:`micro.getppid_ns / micro.function_call_ns` a call.

.. bench-table:: micro

.. bench-table:: echo
   :n: 100

.. bench-table:: c10k

.. bench-chart:: micro

.. bench-chart:: echo
   :n: 100

.. bench-source::
""")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "_build" / "index.html").read_text(encoding="utf-8")
    for text in ("322", "9.94×", "51,234", "1.23×", "7.40", "<svg",
                 "Test CPU", "2026-01-01"):
        assert text in page


def test_a_value_the_data_lacks_fails_the_build_with_file_and_line(tmp_path):
    done = build(tmp_path, "Costs :bench:`micro.no_such_ns` ns.\n")
    assert done.returncode != 0
    assert "index.rst:4" in done.stderr and "no_such_ns" in done.stderr

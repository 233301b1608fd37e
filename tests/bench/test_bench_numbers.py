"""deckext.numbers renders the benchmark's data file into the slides.

Unit tests of the formatting, the claims and the SVG, then real Sphinx
builds of a tiny project: one that uses every role and directive; one that
asks for a value the data file lacks, and one whose claim the data
contradicts, which must fail naming the slide, file and line; and one whose
numbers were measured on other code, which must say so on the slide and
still pass the strict build.
"""

import json
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

from deckext import numbers
from deckext.fingerprint import fingerprint

ROOT = Path(__file__).resolve().parents[2]
CURRENT = fingerprint(ROOT)["fingerprint"]

DATA = {
    "meta": {"date": "2026-01-01 00:00 UTC",
             "machine": {"cpu": "Test CPU", "cpus": 2},
             "versions": {"python": "3.11.7", "gevent": None, "cc": "gcc"},
             "code": {"files": [], "parts": {"micro": CURRENT, "echo": CURRENT}}},
    "labels": {"micro": {"function_call_ns": "函数调用", "getppid_ns": "getppid"},
               "micro_includes": {"getppid_ns": "进一次内核"},
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


def test_one_value_renders_and_a_ratio_is_refused_outside_a_claim():
    assert numbers.render_value(DATA, "micro.getppid_ns") == "322"
    for ratio in ("micro.getppid_ns / micro.function_call_ns",
                  "echo.n100.green.vs_gevent"):
        with pytest.raises(numbers.BenchDataError, match="bench-claim"):
            numbers.render_value(DATA, ratio)


def test_a_claim_renders_its_sentence_with_the_values_it_compares():
    text, false = numbers.render_claim(
        DATA, "要 {micro.getppid_ns} 纳秒，是调用的 "
              "{micro.getppid_ns / micro.function_call_ns}，gevent 的 "
              "{echo.n100.green.vs_gevent} <micro.getppid_ns > 2 * micro.function_call_ns>")
    assert (text, false) == ("要 322 纳秒，是调用的 9.94×，gevent 的 1.23×", None)


def test_a_claim_the_data_contradicts_says_which_values_contradict_it():
    _, false = numbers.render_claim(
        DATA, "便宜 <micro.getppid_ns < micro.function_call_ns>")
    assert false == ("micro.getppid_ns < micro.function_call_ns is false: "
                     "micro.getppid_ns = 322 < micro.function_call_ns = 32.4")


@pytest.mark.parametrize("condition, holds", [
    ("1 < micro.getppid_ns / micro.function_call_ns < 10", True),   # a chain
    ("micro.getppid_ns <= 10 * micro.function_call_ns and "
     "echo.n100.green.vs_gevent > 1", True),
    ("echo.n100.green.msgs - echo.n100.gevent.msgs > 10000", False),  # 9,580
    ("c10k.green.echo_once_s < 0.2", False),
])
def test_a_condition_may_chain_join_and_subtract(condition, holds):
    assert (numbers.render_claim(DATA, f"x <{condition}>")[1] is None) == holds


def test_a_key_with_a_hyphen_is_one_key():
    data = {"c10k": {"greenlet-bare": {"s": 0.25}, "green": {"s": 0.5}}}
    assert numbers.render_claim(
        data, "{c10k.green.s / c10k.greenlet-bare.s} <c10k.green.s - "
              "c10k.greenlet-bare.s > 0.2>") == ("2.00×", None)


@pytest.mark.parametrize("text, why", [
    ("no condition at all", "no trailing <condition>"),
    ("a <b> c", "no trailing <condition>"),
    ("x <micro.getppid_ns * 2>", "does not compare"),
    ("x <__import__('os').getpid() > 1>", "only keys, numbers"),
    ("x <micro.getppid_ns > micro>", "only keys, numbers"),
    ("x <micro.no_such_ns > 1>", "no 'no_such_ns' in micro"),
])
def test_a_claim_that_is_not_a_comparison_over_the_data_is_refused(text, why):
    with pytest.raises(numbers.BenchDataError, match=why):
        numbers.render_claim(DATA, text)


def test_a_missing_key_is_named_with_what_is_there():
    with pytest.raises(numbers.BenchDataError, match="no 'n10' in echo .has: n100"):
        numbers.lookup(DATA, "echo.n10.green.msgs")


def test_the_chart_is_well_formed_svg_with_a_bar_per_value():
    svg = numbers.svg_bars([("", [("a", "", [1, 2]), ("b", "", [3, 4])])],
                           ["x", "y"], "消息/秒")
    document = xml.dom.minidom.parseString(svg)
    rects = document.getElementsByTagName("rect")
    assert len(rects) == 2 + 4            # the legend's two, then the bars
    widths = [float(r.getAttribute("width")) for r in rects[2:]]
    assert widths == sorted(widths) and widths[-1] <= 760


def test_the_ladder_has_group_headings_what_each_bar_includes_and_a_named_log_axis():
    svg = numbers.svg_bars(
        [("切换", [("greenlet", "不进内核", [500]), ("线程", "交接 GIL", [5000])]),
         ("参照", [("调用", "", [40])])], [], "纳秒/次，对数刻度", log=True)
    texts = [t.firstChild.data for t in
             xml.dom.minidom.parseString(svg).getElementsByTagName("text")]
    assert texts[:4] == ["切换", "greenlet", "不进内核", "500"]
    assert "交接 GIL" in texts and "参照" in texts
    assert texts[-4:] == ["10", "100", "1,000", "纳秒/次，对数刻度"]   # the axis


def build(tmp_path, body, data=DATA, strict=True):
    """A build (strict: -W) of a one-page project over data; its code is
    this tree."""
    (tmp_path / "data.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "conf.py").write_text(
        "extensions = ['deckext']\nbench_data = 'data.json'\n"
        f"bench_code_root = {str(ROOT)!r}\nexclude_patterns = ['_build']\n")
    (tmp_path / "index.rst").write_text("Numbers\n=======\n\n" + body,
                                        encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "--no-color", "-b", "html",
         *(["-W"] if strict else []), "-E", str(tmp_path),
         str(tmp_path / "_build")],
        capture_output=True, text=True)
    page = tmp_path / "_build" / "index.html"
    done.page = page.read_text(encoding="utf-8") if page.exists() else ""
    return done


def test_role_and_directives_render_at_build_time(tmp_path):
    done = build(tmp_path, """\
A system call costs :bench:`micro.getppid_ns` ns,
:bench-claim:`{micro.getppid_ns / micro.function_call_ns} a call
<micro.getppid_ns > 2 * micro.function_call_ns>`.

.. bench-table:: micro

.. bench-table:: echo
   :n: 100

.. bench-table:: c10k

.. bench-chart:: micro

   参照: function_call_ns, getppid_ns

.. bench-chart:: echo
   :n: 100

.. bench-source::
""")
    assert done.returncode == 0, done.stderr
    for text in ("322", "9.94× a call", "51,234", "1.23×", "7.40", "<svg",
                 "进一次内核", "对数刻度", "Test CPU", "2026-01-01",
                 f"代码 {CURRENT[:8]}"):
        assert text in done.page
    assert "测于较早的运行时代码" not in done.page


def test_a_value_the_data_lacks_fails_the_build_with_file_and_line(tmp_path):
    done = build(tmp_path, "Costs :bench:`micro.no_such_ns` ns.\n")
    assert done.returncode != 0
    assert "index.rst:4" in done.stderr and "no_such_ns" in done.stderr


def test_a_claim_the_data_contradicts_fails_the_build_naming_slide_file_and_line(
        tmp_path):
    done = build(tmp_path, """\
Cheap calls
-----------

Fine: :bench-claim:`{micro.getppid_ns} ns <micro.getppid_ns > 100>`.

A call :bench-claim:`costs more than a system call
<micro.function_call_ns > micro.getppid_ns>`.
""")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "bench-claim" in line]
    assert len(errors) == 1, done.stderr
    assert "index.rst:9" in errors[0] and "'Cheap calls'" in errors[0]
    assert "micro.function_call_ns = 32.4 > micro.getppid_ns = 322" in errors[0]


def test_a_false_claim_fails_a_plain_build_too_and_is_marked_on_the_slide(
        tmp_path):
    # `make slides` builds without -W: a claim the data contradicts must
    # still fail it, and the page must not show the sentence as if true.
    done = build(tmp_path, "A call :bench-claim:`costs more than a system call "
                           "<micro.function_call_ns > micro.getppid_ns>`.\n",
                 strict=False)
    assert done.returncode != 0, done.stderr
    assert "数据不支持这句话" in done.page


def test_a_claim_that_runs_on_into_the_next_fails_the_build(tmp_path):
    # A closing backtick followed by "（" does not end a role: docutils runs
    # on to the next backtick, and the claim would swallow its neighbour.
    done = build(tmp_path, ":bench-claim:`{micro.getppid_ns} ns <micro.getppid_ns > 1>`"
                           "（注），:bench-claim:`x <micro.getppid_ns > 2>`。\n")
    assert done.returncode != 0
    assert "index.rst:4" in done.stderr and "runs on into the next role" in done.stderr


def test_numbers_measured_on_other_code_say_so_on_the_slide_and_pass_the_strict_build(
        tmp_path):
    data = json.loads(json.dumps(DATA))
    data["meta"]["code"]["parts"]["echo"] = "0123456789abcdef"
    done = build(tmp_path, ".. bench-source:: micro\n\n.. bench-source:: echo\n",
                 data)
    assert done.returncode == 0, done.stderr
    micro, echo = done.page.split('class="bench-source"')[1:]
    assert "测于较早的运行时代码" not in micro
    assert "测于较早的运行时代码" in echo and "代码 01234567" in echo
    assert f"现在 {CURRENT[:8]}" in echo
    assert "echo (01234567)" in done.stdout and "make bench" in done.stdout

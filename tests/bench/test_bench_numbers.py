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
             "machine": {"cpu": "Intel(R) Xeon(R) Test CPU @ 2.00GHz", "cpus": 2},
             "versions": {"python": "3.11.7", "greenlet": "3.5.6", "gevent": None,
                          "cc": "gcc"},
             "code": {"files": [], "parts": {"micro": CURRENT, "echo": CURRENT}}},
    "micro": {"function_call_ns": 32.4, "getppid_ns": 322.1},
    "memory": {"microthread": 6.04},
    "echo": {"n100": {"green": {"msgs": 51234, "server_us": 19.5, "vs_gevent": 1.23},
                      "gevent": {"msgs": 41654, "server_us": 24.0, "vs_gevent": 1.0}}},
    "c10k": {"green": {"rss_mib": 88.1, "kib_per_conn": 7.4, "echo_once_s": 0.21,
                       "rss_curve": {"0": 16.0, "1000": 23.3, "2000": 30.5,
                                     "5000": 52.0, "10000": 88.1}},
             "threads": {"rss_curve": {"0": 15.0, "1000": 36.2, "2000": 57.4},
                         "stopped": "stopped after 2,000 connections: ..."}},
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
    assert (text, false) == ("要 322 纳秒，是调用的 9.9 倍，gevent 的 1.2 倍", None)


@pytest.mark.parametrize("ratio, words", [
    (9.94, "9.9 倍"), (9.96, "10 倍"), (12.6, "13 倍"), (183.4, "180 倍"),
    (1.234, "1.2 倍"), (1.0, "1.0 倍"),
    (0.74, "约七成"), (0.5, "约一半"), (0.14, "约一成"),
    (0.97, "九成多"), (0.03, "不到一成"),
])
def test_a_ratio_in_a_claim_reads_aloud_in_chinese(ratio, words):
    assert numbers.spoken_ratio(ratio) == words


@pytest.mark.parametrize("ratio, words", [
    (9.96, "10 times"), (1.234, "1.2 times"), (0.74, "about 70%"), (0.5, "about half"),
    (0.97, "over 90%"), (0.03, "less than a tenth"),
])
def test_a_ratio_in_a_claim_of_the_english_edition_reads_aloud_in_english(ratio, words):
    assert numbers.spoken_ratio(ratio, "en") == words


def test_an_english_claim_keeps_its_space_before_a_ratio():
    text, _ = numbers.render_claim(
        DATA, "a system call takes {micro.getppid_ns / micro.function_call_ns} as long "
              "<micro.getppid_ns > micro.function_call_ns>", "en")
    assert text == "a system call takes 9.9 times as long"


def test_a_ratio_below_one_follows_its_words_without_a_space():
    text, _ = numbers.render_claim(
        DATA, "调用是系统调用的 {micro.function_call_ns / micro.getppid_ns}，"
              "系统调用是调用的 {micro.getppid_ns / micro.function_call_ns} "
              "<micro.getppid_ns > micro.function_call_ns>")
    assert text == "调用是系统调用的约一成，系统调用是调用的 9.9 倍"


def test_a_ratio_below_zero_is_refused_naming_it():
    with pytest.raises(numbers.BenchDataError, match="function_call_ns - micro"):
        numbers.render_claim(DATA, "{(micro.function_call_ns - micro.getppid_ns) / "
                                   "micro.getppid_ns} <micro.getppid_ns > 1>")


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
              "c10k.greenlet-bare.s > 0.2>") == ("2.0 倍", None)


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
    assert widths == sorted(widths) and widths[-1] <= numbers.CHART_WIDTH


def test_the_ladder_has_group_headings_what_each_bar_includes_and_a_named_log_axis():
    svg = numbers.svg_bars(
        [("切换", [("greenlet", "不进内核", [500]), ("线程", "交接 GIL", [5000])]),
         ("参照", [("调用", "", [40])])], [], "纳秒/次，对数刻度", log=True)
    texts = [t.firstChild.data for t in
             xml.dom.minidom.parseString(svg).getElementsByTagName("text")]
    assert texts[:4] == ["切换", "greenlet", "不进内核", "500"]
    assert "交接 GIL" in texts and "参照" in texts
    assert texts[-4:] == ["10", "100", "1,000", "纳秒/次，对数刻度"]   # the axis


def test_what_a_bar_includes_goes_after_its_value_when_the_bar_is_too_short():
    svg = numbers.svg_bars([("", [("调用", "一次调用，很短的一条", [40]),
                                  ("切换", "不进内核", [5000])])], [], "纳秒", log=True)
    texts = [t.firstChild.data for t in
             xml.dom.minidom.parseString(svg).getElementsByTagName("text")]
    assert texts[:3] == ["调用", "40.0", "一次调用，很短的一条"]
    assert texts[3:6] == ["切换", "不进内核", "5,000"]


def line_chart():
    return numbers.svg_lines(
        [("系统线程", [(0, 15.0), (1000, 36.2), (2000, 57.4), (5000, 120.9),
                   (10000, 222.1)]),
         ("回调", [(0, 15.7), (1000, 16.4), (2000, 17.1), (5000, 19.3),
                 (10000, 22.9)])],
        "连接数", "常驻内存 MiB")


def test_the_memory_chart_draws_a_line_with_a_dot_per_point_named_at_its_end():
    document = xml.dom.minidom.parseString(line_chart())
    lines = document.getElementsByTagName("polyline")
    assert [len(line.getAttribute("points").split()) for line in lines] == [5, 5]
    assert len(document.getElementsByTagName("circle")) == 10
    texts = {t.firstChild.data: t for t in document.getElementsByTagName("text")}
    for line, name in zip(lines, ["系统线程", "回调"]):
        end_x, end_y = map(float, line.getAttribute("points").split()[-1].split(","))
        label = texts[name]
        assert float(label.getAttribute("x")) > end_x           # right of its end
        assert abs(float(label.getAttribute("y")) - 6 - end_y) < numbers.TEXT_PX
    assert {"常驻内存 MiB", "连接数", "0", "1 千", "2 千", "5 千", "1 万"} <= set(texts)


@pytest.mark.parametrize("end", [50.0, 1.0])     # at the top, at the x axis
def test_line_names_that_would_touch_are_moved_apart_and_stay_in_the_plot(end):
    names = ["甲", "乙", "丙"]
    svg = numbers.svg_lines([(name, [(0, 1.0), (10, end)]) for name in names]
                            + [("丁", [(0, 50.0), (10, 50.0)])], "x", "y")
    document = xml.dom.minidom.parseString(svg)
    baselines = sorted(float(t.getAttribute("y"))
                       for t in document.getElementsByTagName("text")
                       if t.firstChild.data in names)
    assert len(baselines) == 3
    assert all(b - a >= numbers.TEXT_PX for a, b in zip(baselines, baselines[1:]))
    assert baselines[0] >= numbers.BASELINE          # none above the chart
    x_axis = float(document.getElementsByTagName("svg")[0].getAttribute("height")) - 30
    assert baselines[-1] <= x_axis + 6               # none among the x labels


@pytest.mark.parametrize("name, svg", [
    ("ladder", lambda: numbers.svg_bars(
        [("切换，都绑在同一个 CPU 上", [("greenlet 切换", "同一线程里换栈，不进内核", [294]),
                                ("线程切换 (同一 CPU)", "经管道，内核换线程，交接 GIL", [3014])]),
         ("参照", [("Python 函数调用", "", [31.4])])], [], "纳秒/次，对数刻度", log=True)),
    ("bars", lambda: numbers.svg_bars([("", [("微线程", "", [70925, 48640])])],
                                      ["N = 100", "N = 1000"], "消息/秒")),
    ("lines", line_chart),
])
def test_every_text_of_every_chart_is_drawn_at_18_px_on_the_slide(name, svg):
    document = xml.dom.minidom.parseString(svg())
    root = document.documentElement
    width = float(root.getAttribute("width"))
    assert root.getAttribute("viewBox").split()[2] == root.getAttribute("width")
    assert width <= numbers.CHART_WIDTH             # drawn 1:1 in the content box
    sizes = [float(t.getAttribute("font-size"))
             for t in document.getElementsByTagName("text")]
    assert sizes and min(sizes) >= 18, name


def test_a_label_that_leaves_the_bars_no_room_is_named():
    with pytest.raises(numbers.BenchDataError, match="'很长的说明'"):
        numbers.svg_bars([("", [("很长的说明", "长" * 40, [1000]),
                                ("短", "", [10])])], [], "ns", log=True)


def test_the_source_line_is_a_footnote_in_18_px():
    assert "font-size: 18px" in numbers.SOURCE_STYLE
    assert numbers.cpu_name("Intel(R) Xeon(R) Processor") == "Intel Xeon"
    assert numbers.cpu_name("Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz") == \
        "Intel Core i7-8550U"


def build(tmp_path, body, data=DATA, strict=True):
    """A build (strict: -W) of a one-page project over data; its code is
    this tree."""
    (tmp_path / "data.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "conf.py").write_text(
        "extensions = ['deckext']\nbench_data = 'data.json'\nlanguage = 'zh_CN'\n"
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

.. bench-chart:: c10k-memory

.. bench-source::
""")
    assert done.returncode == 0, done.stderr
    for text in ("322", "9.9 倍 a call", "51,234", "1.23×", "7.40", "<svg",
                 "进一次内核", "对数刻度", "常驻内存 MiB", "系统线程（只到 2 千）",
                 "Intel Xeon Test", "2026-01-01", "greenlet 3.5.6",
                 f"代码 {CURRENT[:8]}"):
        assert text in done.page
    assert "测于较早的运行时代码" not in done.page
    assert done.page.count("<polyline") == 2


def test_a_server_that_stopped_short_shows_no_c10k_numbers(tmp_path):
    done = build(tmp_path, ".. bench-table:: c10k\n")
    assert done.returncode == 0, done.stderr
    row = done.page.split("系统线程（只到 2 千）")[1].split("</tr>")[0]
    assert row.count(">-</td>") == 3


def test_a_memory_chart_without_its_curve_fails_naming_the_key(tmp_path):
    data = json.loads(json.dumps(DATA))
    del data["c10k"]["green"]["rss_curve"]
    done = build(tmp_path, ".. bench-chart:: c10k-memory\n   :keys: green\n", data)
    assert done.returncode != 0
    assert "index.rst:4" in done.stderr
    assert "no 'rss_curve' in c10k.green" in done.stderr


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

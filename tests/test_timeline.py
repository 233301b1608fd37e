"""Timelines on the slides: recording, the scenarios' shapes, the drawing.

Each scenario is checked for the shape its slide claims, for a structure
that is the same on every run (lanes, order and count of switches, marks),
and for a drawing that shows exactly the recorded trace.
"""

import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import greenlet
import pytest

from deckext.timeline import render
from microthread import WRITE, sleep, spawn
from deckext import scenarios
from microthread.loop import EventLoop, set_loop
from microthread.names import lane_of
from microthread.trace import LoopRecording, Recorder

SVG = "{http://www.w3.org/2000/svg}"


def structure(panels):
    """What must not change between runs: everything but the durations."""
    return [(p.title.split("结果")[0], p.lanes,
             [(s.origin, s.target) for s in p.switches],
             {lane: ([(s.kind, s.label) for s in p.of(lane)[0]],
                     [m.label for m in p.of(lane)[1]]) for lane in p.lanes})
            for p in panels]


def switches(panel):
    return [(s.origin, s.target) for s in panel.switches]


# -- recording ---------------------------------------------------------------

def test_switch_recording_is_off_outside_the_block_and_restores_a_tracer():
    seen = []
    outer = lambda event, args: seen.append(event)    # noqa: E731
    greenlet.settrace(outer)
    try:
        recorder = Recorder()
        with recorder.switches(lane_of):
            spawn(sleep, 0).join()
        assert greenlet.gettrace() is outer
        assert seen, "the tracer installed before was not called meanwhile"
        recorded = len(recorder.switches_seen)
        spawn(sleep, 0).join()
        assert len(recorder.switches_seen) == recorded
    finally:
        greenlet.settrace(None)


def test_without_a_recorder_nothing_traces_greenlets():
    assert greenlet.gettrace() is None
    scenarios.starvation_run()
    assert greenlet.gettrace() is None


def test_the_loop_recording_says_which_fd_and_event_each_callback_ran_for():
    recorder = Recorder()
    loop = EventLoop()
    loop.observe(LoopRecording(recorder))
    left, right = socket.socketpair()
    try:
        loop.register_fd(left.fileno(), WRITE,
                         lambda: loop.unregister_fd(left.fileno(), WRITE))
        loop.call_soon(lambda: None)
        loop.run_once()
        sources = [run.source for run in recorder.dispatches]
        assert sources == [(left.fileno(), WRITE), "ready"]
        assert [run.callback for run in recorder.dispatches][1].endswith(
            "<lambda>")
        assert len(recorder.polls) == 1
    finally:
        loop.close()
        left.close()
        right.close()


def test_a_scenario_leaves_the_threads_loop_as_it_found_it():
    from microthread.loop import current_loop
    before = EventLoop()
    set_loop(before)
    scenarios.player_race()
    assert current_loop() is before
    before.close()


# -- the shapes the slides claim ----------------------------------------------

def test_sendall_callback_returns_to_the_loop_after_every_send():
    callback_panel = scenarios.sendall_styles()[0]
    loop, call, peer = callback_panel.lanes
    assert switches(callback_panel) == [(loop, call), (call, loop)] * 3
    spans, marks = callback_panel.of(call)
    assert [m.label.split()[0] for m in marks] == ["send"] * 3
    returns = [s.at for s in callback_panel.switches if s.target == loop]
    assert all(ret < m.at for ret, m in zip(returns, marks[1:]))
    assert len(callback_panel.of(peer)[0]) == 3


def test_sendall_microthread_switches_to_the_hub_at_each_eagain():
    panel = scenarios.sendall_styles()[1]
    main, hub, writer, peer = panel.lanes
    rounds = [(hub, writer), (writer, hub)] * 3
    assert switches(panel) == [(main, hub), *rounds, (hub, main)]
    marks = panel.of(writer)[1]
    assert [m.label.split()[0] for m in marks] == [
        "send", "EAGAIN", "send", "EAGAIN", "send"]
    outs = [s.at for s in panel.switches if s.origin == writer]
    eagains = [m.at for m in marks if m.label == "EAGAIN"]
    assert all(eagain < out for eagain, out in zip(eagains, outs))
    assert [s.kind for s in panel.of(hub)[0]].count("wait") >= 2


def test_sendall_thread_blocks_in_one_send_until_the_peer_has_read():
    panel = scenarios.sendall_styles()[2]
    writer, peer = panel.lanes
    (send,), marks = panel.of(writer)
    recvs = panel.of(peer)[0]
    assert send.kind == "blocked" and not marks and not panel.switches
    assert len(recvs) == 3
    assert send.end > recvs[1].start    # it could not finish before that


def test_the_hog_holds_the_hub_with_no_switch_until_it_ends():
    starving, yielding = scenarios.starvation_run()
    hog = [(i, s) for i, s in enumerate(starving.switches)
           if "hog" in (s.origin, s.target)]
    assert [(s.origin, s.target) for _, s in hog] == [("hub", "hog"),
                                                     ("hog", "hub")]
    (start, into), (end, out) = hog
    assert end == start + 1       # no switch at all during the hog's run
    beats = [s for s in starving.of("heartbeat")[0] if s.kind == "run"]
    assert len(beats) == 3 + 1 and all(b.start >= out.at for b in beats)
    workers = [s.target for s in yielding.switches
               if s.target in ("hog", "heartbeat")]
    assert workers == ["hog", "heartbeat"] * 4


def test_the_forced_interleaving_reads_everything_before_any_write():
    lost, locked = scenarios.lost_update()
    reads = [m for m in lost.marks if m.label.startswith("读到")]
    writes = [m for m in lost.marks if m.label.startswith("写")]
    assert {m.label for m in reads} == {"读到 0"} and len(reads) == 4
    assert {m.label for m in writes} == {"写 1"} and len(writes) == 4
    assert max(m.at for m in reads) < min(m.at for m in writes)
    assert "强制" in lost.title and "结果 1" in lost.title
    assert "结果 4" in locked.title


def test_under_the_lock_critical_sections_never_overlap():
    locked = scenarios.lost_update()[1]
    sections = []
    for index, lane in enumerate(locked.lanes):
        spans, marks = locked.of(lane)
        assert [m.label for m in marks] == [f"读到 {index}", f"写 {index + 1}"]
        inside = [s for s in spans if s.kind != "wait"]
        sections.append((inside[0].start, inside[-1].end))
    assert all(a_end <= b_start for (_, a_end), (b_start, _)
               in zip(sections, sections[1:]))


def test_another_microthread_sees_the_half_made_player_while_login_waits():
    race, safe = scenarios.player_race()
    for panel in (race, safe):
        main, hub, login, other = panel.lanes
        assert switches(panel) == [
            (main, hub), (hub, login), (login, hub), (hub, other),
            (other, hub), (hub, login), (login, hub), (hub, main)]
        assert [m.label for m in panel.of(hub)[1]] == ["查询结果到了"]
    main, hub, login, other = race.lanes
    (seen,) = race.of(other)[1]
    published, switched, finished = race.of(login)[1]
    assert published.label.endswith("半成品") and seen.label == "看到 name=None"
    assert published.at < switched.at < seen.at < finished.at


def test_with_login_safe_the_other_microthread_finds_no_player_yet():
    panel = scenarios.player_race()[1]
    main, hub, login, other = panel.lanes
    (seen,) = panel.of(other)[1]
    switched, published = panel.of(login)[1]
    assert seen.label == "players 里还没有它"
    assert published.label.endswith("完整的") and seen.at < published.at


# gil_handoff's second panel has as many hand-offs as the interpreter made:
# its own tests below check the shape instead.
SAME_EVERY_RUN = sorted(set(scenarios.SCENARIOS) - {"gil_handoff"})


@pytest.mark.parametrize("name", SAME_EVERY_RUN)
def test_every_run_of_a_scenario_has_the_same_structure(name):
    scenario = scenarios.SCENARIOS[name]
    first = structure(scenario())
    for _ in range(2):
        assert structure(scenario()) == first


def handoffs(panel):
    """Hand-offs of the GIL drawn on a gil_handoff panel, checked to be
    where they must be: at the start of a turn, from the lane that ran."""
    first, _ = panel.lanes
    runs = [s for s in panel.spans if s.kind == "run"]
    assert [s.target for s in panel.switches] == [r.lane for r in runs[1:]]
    for before, after, switch in zip(runs, runs[1:], panel.switches):
        assert before.lane != after.lane, "a turn drawn in two pieces"
        assert (switch.origin, switch.at) == (before.lane, after.start)
        assert before.end <= after.start
    assert runs[0].lane == first
    return len(panel.switches)


def test_under_a_10_s_switch_interval_one_thread_runs_to_its_end_first():
    long, _ = scenarios.gil_handoff()
    assert "10 秒" in long.title and long.lanes == ["线程 1", "线程 2"]
    assert handoffs(long) == 1
    (wait,) = [s for s in long.spans if s.kind == "wait"]
    assert (wait.lane, wait.label) == ("线程 2", "等 GIL")
    assert wait.start == long.spans[0].start      # waiting from the start


def test_under_a_5_ms_switch_interval_the_threads_take_turns():
    _, short = scenarios.gil_handoff()
    assert "5 毫秒" in short.title and short.lanes == ["线程 1", "线程 2"]
    assert handoffs(short) >= 2
    labels = [s.label for s in short.spans if s.label]
    assert labels == ["等 GIL"]           # the first wait only: one label


def test_gil_handoff_leaves_the_switch_interval_as_it_was():
    before = sys.getswitchinterval()
    scenarios.gil_handoff()
    assert sys.getswitchinterval() == before


def test_all_scenarios_together_take_well_under_the_build_budget():
    start = time.perf_counter()
    for scenario in scenarios.SCENARIOS.values():
        scenario()
    assert time.perf_counter() - start < 3.0     # the budget is 10 s


# -- the drawing -------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_the_drawing_shows_exactly_the_recorded_trace(name):
    panels = scenarios.SCENARIOS[name]()
    svg = ET.fromstring(render(panels, uid=f"tl-{name}"))
    drawn = svg.findall(f"{SVG}g[@class='timeline-panel']")
    assert [g.get("data-title") for g in drawn] == [p.title for p in panels]
    for panel, group in zip(panels, drawn):
        lanes = group.findall(f"{SVG}g[@class='lane']")
        assert [g.get("data-lane") for g in lanes] == panel.lanes
        arrows = group.findall(f"{SVG}line[@class='switch']")
        assert [(a.get("data-origin"), a.get("data-target"))
                for a in arrows] == switches(panel)
        xs = [float(a.get("x1")) for a in arrows]
        assert xs == sorted(xs), "switches drawn out of order"
        for lane, g in zip(panel.lanes, lanes):
            spans, marks = panel.of(lane)
            rects = g.findall(f"{SVG}rect[@class='span']")
            kinds = [r.get("data-kind") for r in rects]
            assert kinds == [s.kind for s in spans]
            assert len(g.findall(f"{SVG}path[@class='mark']")) == len(marks)
            texts = [t.text for t in g.findall(f"{SVG}text")]
            assert texts[0] == lane
            assert all(m.label in texts for m in marks)


def ids(svg):
    return {e.get("id") for e in ET.fromstring(svg).iter() if e.get("id")}


def test_drawings_on_one_page_do_not_share_ids():
    panels = scenarios.starvation_run()
    one, two = render(panels, uid="tl-a"), render(panels, uid="tl-b")
    assert ids(one) and not ids(one) & ids(two)
    assert "url(#tl-a-" in one and "url(#tl-b-" not in one


def build(folder, text):
    """Build index.rst of ``text`` with the timeline directive; the process
    and the HTML it wrote (every warning reported, and an error)."""
    (folder / "conf.py").write_text("extensions = ['deckext.timeline']\n")
    (folder / "index.rst").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "--no-color", "-b", "html", "-W",
         "--keep-going", "-E", str(folder), str(folder / "out")],
        capture_output=True, text=True)
    page = folder / "out" / "index.html"
    return done, page.read_text(encoding="utf-8") if page.exists() else ""


def test_an_unknown_scenario_fails_the_build_with_its_file_and_line(tmp_path):
    done, _ = build(tmp_path, "Deck\n====\n\n.. timeline:: starvation\n\n"
                              ".. timeline:: nope\n")
    assert done.returncode != 0
    assert "index.rst:6" in done.stderr and "no scenario 'nope'" in done.stderr
    assert "starvation" in done.stderr       # the message lists known ones


def drawn_titles(page):
    """The panel titles of each drawing on a built page, drawing by drawing."""
    return [re.findall(r'class="timeline-panel" data-title="([^"]*)"', svg)
            for svg in page.split('<div class="timeline"')[1:]]


def test_panels_draws_only_the_chosen_panels_of_the_run(tmp_path):
    race, safe = scenarios.player_race()
    done, page = build(tmp_path, (
        "Deck\n====\n\n.. timeline:: player_race\n   :panels: 1\n\n"
        ".. timeline:: player_race\n   :panels: 2\n\n"
        ".. timeline:: player_race\n"))
    assert done.returncode == 0, done.stderr
    assert drawn_titles(page) == [[race.title], [safe.title],
                                  [race.title, safe.title]]
    assert 'data-panels="2"' in page
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "two drawings of a page share an id"


def test_a_panel_the_run_does_not_have_fails_the_build_naming_it(tmp_path):
    done, page = build(tmp_path, (
        "Deck\n====\n\n.. timeline:: starvation\n   :panels: 2, 3\n"))
    assert done.returncode != 0
    assert "index.rst:4" in done.stderr
    assert "no panel 3: it has 2 (1 to 2)" in done.stderr
    assert drawn_titles(page) == []


def test_the_drawing_counts_one_gil_hand_off_at_10_s_and_more_at_5_ms():
    long, short = (ET.fromstring(render([panel])) for panel in
                   scenarios.gil_handoff())
    assert len(long.findall(f".//{SVG}line[@class='switch']")) == 1
    assert len(short.findall(f".//{SVG}line[@class='switch']")) >= 2


def test_lanes_keep_their_colour_in_every_panel():
    svg = ET.fromstring(render(scenarios.sendall_styles()))
    colours = {}
    for lane in svg.iter(f"{SVG}g"):
        name = lane.get("data-lane")
        runs = [r.get("fill") for r in lane.findall(f"{SVG}rect")
                if r.get("data-kind") == "run"]
        if name and runs:
            colours.setdefault(name, set()).update(runs)
    assert all(len(found) == 1 for found in colours.values()), colours


def test_trace_points_are_named_by_position_not_by_the_codes_text(
        monkeypatch):
    """The lost-update timeline finds its read, barrier and write by the
    names race.TRACE_POINTS gives the statements, so a reworded line keeps
    its name; a name list that no longer fits the code is refused."""
    from microthread.demos import race
    points = scenarios._trace_points(race.lost_update)
    assert sorted(points.values()) == ["barrier", "read", "write"]
    monkeypatch.setitem(race.TRACE_POINTS, "lost_update", ("read", "write"))
    with pytest.raises(LookupError, match="has 3 statements.*names 2"):
        scenarios._trace_points(race.lost_update)

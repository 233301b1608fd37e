"""The claims' verdict lines in English: ``run NAME --lang en``.

Every Chinese template of the package is found where it is written -- by
the syntax trees of src/microthread/demos, not by running the claims, so a
template on a path no run here takes (a skipped check, a refutation) is
held to the table all the same.  Then a few cheap claims run as the deck
runs them, in both languages: English with no Chinese left in it and the
same exit status and numbers, Chinese exactly the line it always was.
"""

import ast
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from microthread.demos import __main__ as cli
from microthread.demos.claims import CLAIMS
from microthread.demos.english import ENGLISH, LANGUAGES, say, speaking

DEMOS = Path(__file__).resolve().parents[1] / "src" / "microthread" / "demos"
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
HOLDS, REFUTED, SKIPPED, USAGE = 0, 1, 3, 2


def trees():
    """(file name, syntax tree) of every module of the demos package."""
    return [(path.name, ast.parse(path.read_text(encoding="utf-8")))
            for path in sorted(DEMOS.glob("*.py"))]


def calls_of(tree, name):
    """The calls of ``name`` (as ``name(...)`` or ``x.name(...)``) in tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(
                func, "attr", None)
            if called == name:
                yield node


def claim_templates():
    """{template: where} of the says= and without= of every Claim(...)."""
    found, claims = {}, 0
    for file, tree in trees():
        for call in calls_of(tree, "Claim"):
            claims += 1
            words = {kw.arg: kw.value for kw in call.keywords}
            assert "says" in words and "without" in words, \
                f"{file}:{call.lineno}: a Claim names says= and without="
            for field in ("says", "without"):
                value = words[field]
                assert isinstance(value, ast.Constant), \
                    f"{file}:{call.lineno}: {field}= is not written out"
                if value.value is not None:
                    found[value.value] = f"{file}:{call.lineno} {field}="
    assert claims == len(CLAIMS), "a Claim the syntax trees did not find"
    return found


def say_templates():
    """{template: (where, its keyword names, or None with **fields)} of
    every say(...) written out; a say of anything else than a literal or
    a claim's says/without would escape this test, so it fails it."""
    found = {}
    for file, tree in trees():
        for call in calls_of(tree, "say"):
            where = f"{file}:{call.lineno}"
            template = call.args[0] if call.args else None
            if (isinstance(template, ast.Attribute)
                    and template.attr in ("says", "without")):
                continue                      # claim_templates() has them
            assert isinstance(template, ast.Constant) and isinstance(
                template.value, str), f"{where}: say() of a computed template"
            names = {kw.arg for kw in call.keywords}
            found[template.value] = (where, None if None in names else names)
    return found


def used_templates():
    """{template: where} of every template the package writes."""
    said = say_templates().items()
    return {**claim_templates(),
            **{template: where for template, (where, _) in said}}


def fields(template):
    """The replacement fields of a template, as (name, conversion, spec):
    the same spec in both languages is the same number on both lines."""
    parsed = string.Formatter().parse(template)
    return sorted((name, conversion or "", spec or "")
                  for _, name, spec, conversion in parsed if name is not None)


def test_the_syntax_trees_find_the_templates_of_every_kind():
    used = used_templates()
    assert {claim.says for claim in CLAIMS.values()} <= set(used)
    assert "{world}: {verdict} — {says}（{evidence}）" in used     # __main__
    assert any("系统线程" in template for template in used)      # thread_models


@pytest.mark.parametrize("template, where", sorted(used_templates().items()))
def test_every_template_has_its_english_with_the_same_fields(template, where):
    assert template in ENGLISH, f"{where}: no English for {template!r}"
    english = ENGLISH[template]
    assert fields(english) == fields(template), where
    assert not CJK.findall(english), f"{where}: {english!r}"


@pytest.mark.parametrize("template, said", sorted(say_templates().items()))
def test_every_say_fills_the_fields_its_template_names(template, said):
    where, names = said
    if names is not None:
        assert names == {name for name, _, _ in fields(template)}, where


def test_no_english_is_left_that_no_template_uses():
    assert set(ENGLISH) - set(used_templates()) == set()


def test_skipped_reasons_are_english_in_both_languages():
    """The Chinese line has always said why in English; both keep it."""
    for file, tree in trees():
        for call in calls_of(tree, "Skipped"):
            reason = call.args[0]
            assert isinstance(reason, ast.Constant), f"{file}:{call.lineno}"
            assert not CJK.findall(reason.value), f"{file}:{call.lineno}"


def test_say_speaks_chinese_by_default_and_english_only_when_told():
    assert LANGUAGES[0] == "zh"
    assert say("4 个线程各加一，结果 {total}", total=1) == "4 个线程各加一，结果 1"
    with speaking("en"):
        assert say("4 个线程各加一，结果 {total}", total=1) == \
            "4 threads each add one, result: 1"
    assert say("，") == "，"                       # put back afterwards


def test_a_template_without_english_is_an_error_not_chinese():
    with speaking("en"), pytest.raises(LookupError, match="no English"):
        say("没有翻译的句子")


def test_an_english_run_in_this_process_leaves_chinese_behind(capsys):
    assert cli.main(["run", "lost-update", "--lang", "en"]) == HOLDS
    assert capsys.readouterr().out.startswith(
        "lost-update: holds — a switch between")
    assert say("，") == "，"


# -- real claims, run as the deck runs them ---------------------------------

def run_claim(*args):
    done = subprocess.run(
        [sys.executable, "-m", "microthread.demos", "run", *args],
        capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout.rstrip("\n"), done.stderr


# The Chinese lines as the claims printed them before --lang: exactly.
CHINESE = {
    ("lost-update", False): (HOLDS, "lost-update: holds — 读和写之间被切换，"
                             "更新就会丢（4 个线程各加一，结果 1）"),
    ("lost-update", True): (REFUTED, "lost-update --counterfactual（用 Lock "
                            "包住读和写）: refuted — 读和写之间被切换，更新就会丢"
                            "（4 个线程各加一，结果 4）"),
    ("starvation", False): (HOLDS, "starvation: holds — 不让出的微线程跑完之前，"
                            "别人一次也轮不到（心跳第一次跑在第 4 步：hog 0 hog 1 "
                            "hog 2 beat 0 beat 1 beat 2）"),
    ("starvation", True): (REFUTED, "starvation --counterfactual（循环里加 "
                           "sleep(0)）: refuted — 不让出的微线程跑完之前，别人"
                           "一次也轮不到（心跳第一次跑在第 2 步：hog 0 beat 0 "
                           "hog 1 beat 1 hog 2 beat 2）"),
    ("thread-models", False): (HOLDS, "thread-models: holds — 三种线程模型都做完"
                               "工作，微线程从不换线程（1:1  任务做完 8/8，系统线程 "
                               "8 个，hub 0 个，换过线程的 0 个；M:1  任务做完 8/8，"
                               "系统线程 1 个，hub 1 个，换过线程的 0 个；M:N  任务"
                               "做完 8/8，系统线程 2 个，hub 2 个，换过线程的 0 个）"),
    ("thread-models", True): (SKIPPED, "thread-models --counterfactual: "
                              "skipped — 三种线程模型都做完工作，微线程从不换线程: "
                              "a claim of structure: there is no cause to take "
                              "away"),
}
WORLDS = sorted(CHINESE)


def world(name, counterfactual):
    return [name, "--counterfactual"] if counterfactual else [name]


@pytest.mark.parametrize("name, counterfactual", WORLDS)
def test_chinese_is_the_line_it_always_was(name, counterfactual):
    expected = CHINESE[name, counterfactual]
    args = world(name, counterfactual)
    assert run_claim(*args, "--lang", "zh")[:2] == expected
    assert run_claim(*args)[:2] == expected


@pytest.mark.parametrize("name, counterfactual", WORLDS)
def test_english_is_the_same_verdict_in_english(name, counterfactual):
    status, chinese = CHINESE[name, counterfactual]
    got, line, errors = run_claim(*world(name, counterfactual), "--lang", "en")
    assert got == status, errors
    assert not CJK.findall(line), line
    claim = CLAIMS[name]
    head = name
    if counterfactual and claim.without:
        head += f" --counterfactual ({ENGLISH[claim.without]})"
    elif counterfactual:
        head += " --counterfactual"
    verdict = {HOLDS: "holds", REFUTED: "refuted", SKIPPED: "skipped"}[status]
    assert line.startswith(f"{head}: {verdict} — {ENGLISH[claim.says]}"), line
    assert NUMBER.findall(line) == NUMBER.findall(chinese), line


def test_a_language_it_does_not_speak_is_a_usage_error_naming_it():
    status, out, errors = run_claim("lost-update", "--lang", "fr")
    assert status == USAGE and out == ""
    assert "Traceback" not in errors
    naming = [line for line in errors.splitlines() if "'fr'" in line]
    assert len(naming) == 1, errors

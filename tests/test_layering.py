"""The layering rules, checked on the source: no module reaches into
another's private names.

Observers watch the loop through its observer interface; the benchmark's
handicapped loop is a loop option; a demo asks the loop for its wakeup fd.
This test holds the code to that.  It reads the syntax trees of ``src/``
and ``bench/`` and fails on:

- ``x._name`` where ``_name`` is defined in another of our modules and not
  in this one (an attribute, method, slot or module-level name);
- ``from .module import _name``;
- a subclass of one of our classes, in another module, that defines or
  reads a private name its base class defines.

Dunders are public.  Private names of the standard library and of Sphinx
are not ours, so out of scope: only names our own modules define count.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [ROOT / "src" / "microthread", ROOT / "src" / "deckext",
            ROOT / "bench"]


def private(name):
    """_name, but not a dunder, nor ``_`` alone: a throwaway, and the
    translation call of gettext's convention (deckext.words)."""
    return name.startswith("_") and name != "_" and not (
        name.startswith("__") and name.endswith("__"))


class Module:
    """One source file: its tree, the private names it defines, its classes."""

    def __init__(self, path, root=ROOT):
        self.path = path
        self.name = str(path.relative_to(root))
        self.tree = ast.parse(path.read_text(), filename=str(path))
        self.classes = {}          # class name -> private names it defines
        self.defines = set()
        for node in ast.walk(self.tree):
            self.defines |= defined_by(node)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef):
                names = set()
                for inner in ast.walk(node):
                    names |= defined_by(inner)
                self.classes[node.name] = names


def defined_by(node):
    """The private names one node defines."""
    names = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        names.add(node.name)
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        names.add(node.id)
    elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
        names.add(node.attr)
    elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__"
            for t in node.targets):
        names |= {elt.value for elt in ast.walk(node.value)
                  if isinstance(elt, ast.Constant)
                  and isinstance(elt.value, str)}
    return {name for name in names if private(name)}


@pytest.fixture(scope="module")
def modules():
    return [Module(path) for package in PACKAGES
            for path in sorted(package.rglob("*.py"))]


def violations(modules):
    """Every reach into another module's private names, as readable lines."""
    found = []
    classes = {}                   # class name -> (module, its private names)
    for module in modules:
        for name, names in module.classes.items():
            classes.setdefault(name, []).append((module, names))
    for module in modules:
        others = {}
        for other in modules:
            if other is not module:
                for name in other.defines:
                    others.setdefault(name, other.name)
        for node in ast.walk(module.tree):
            where = f"{module.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Attribute) and private(node.attr):
                if node.attr not in module.defines and node.attr in others:
                    found.append(f"{where}: .{node.attr} belongs to "
                                 f"{others[node.attr]}")
            elif isinstance(node, ast.ImportFrom) and node.level:
                for alias in node.names:
                    if private(alias.name) and alias.name in others:
                        found.append(f"{where}: imports {alias.name} from "
                                     f"{others[alias.name]}")
            elif isinstance(node, ast.ClassDef):
                found += subclass_reaches(module, node, classes, where)
    return found


def subclass_reaches(module, node, classes, where):
    """A class that overrides or reads its base class's private names,
    where that base is ours and lives in another module."""
    found = []
    used = set()
    for inner in ast.walk(node):
        used |= defined_by(inner)
        if isinstance(inner, ast.Attribute) and private(inner.attr):
            used.add(inner.attr)
    for base in node.bases:
        base_name = base.attr if isinstance(base, ast.Attribute) else (
            base.id if isinstance(base, ast.Name) else None)
        for owner, names in classes.get(base_name, ()):
            if owner is not module:
                for name in sorted(used & names):
                    found.append(f"{where}: {node.name} uses {name} of its "
                                 f"base {base_name} ({owner.name})")
    return found


def test_no_module_reaches_into_another_modules_private_names(modules):
    assert violations(modules) == []


def test_the_check_sees_a_reach_into_a_private_name(tmp_path):
    """The check itself can fail: a loop subclass overriding a private
    helper, an import of a private name, and a read of another module's
    private attribute are each found."""
    (tmp_path / "base.py").write_text(
        "class Loop:\n"
        "    def __init__(self):\n"
        "        self._fds = {}\n"
        "    def _wait(self):\n"
        "        return []\n"
        "def _helper():\n"
        "    pass\n")
    (tmp_path / "user.py").write_text(
        "from .base import Loop, _helper\n"
        "class Recording(Loop):\n"
        "    def _wait(self):\n"
        "        return super()._wait()\n"
        "def peek(loop):\n"
        "    return loop._fds\n")
    text = "\n".join(violations([Module(tmp_path / "base.py", tmp_path),
                                 Module(tmp_path / "user.py", tmp_path)]))
    assert "user.py:1: imports _helper from base.py" in text
    assert "Recording uses _wait of its base Loop (base.py)" in text
    assert "user.py:6: ._fds belongs to base.py" in text


def test_the_runtime_imports_nothing_of_the_deck_the_benchmark_or_sphinx(
        modules):
    foreign = ("deckext", "bench", "sphinx", "docutils", "hieroglyph")
    found = []
    for module in modules:
        if not module.name.startswith("src/microthread/"):
            continue
        for node in ast.walk(module.tree):
            names = ([alias.name for alias in node.names]
                     if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom)
                     and not node.level else [])
            found += [f"{module.name}:{node.lineno} imports {name}"
                      for name in names if name.split(".")[0] in foreign]
    assert found == []

"""Which code the benchmark numbers were measured on: a fingerprint of it.

``make bench`` stores the fingerprint in the data file beside each part it
measured; the deck computes it again from the working tree at build time and
says so on the slide when the two differ.  It covers the benchmark itself
(``bench/``) and the runtime modules the benchmark imports, found by
following its imports, and it hashes their code as Python sees it: the
syntax tree without docstrings.  Comments and layout are not in the tree, so
rewording a docstring or a comment, or reflowing a line, changes nothing;
changing a statement changes the fingerprint.  Pure standard library: the
benchmark imports it without Sphinx.
"""

import ast
import hashlib
import json
import re
from pathlib import Path

RUNTIME = 'microthread'     # the package whose code the benchmark exercises
SHORT = 8                   # hex digits a slide shows


def fingerprint(root):
    """{'fingerprint': hex digest, 'files': [paths relative to root]}."""
    files = code_files(root)
    return {'fingerprint': code_digest(root, files)[:16], 'files': files}


def code_digest(root, files):
    """The sha256 of files' code (paths relative to root), as hex."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(f'{path}\0{code_of(Path(root) / path)}\0'.encode())
    return digest.hexdigest()


def stale_parts(data, root, parts=None, current=None):
    """({part: fingerprint it was measured on}, root's fingerprint).

    The dict holds the parts of the data file (those named, or every part
    it records) not measured on root's code; None where the data file does
    not say, which counts as other code.
    """
    now = (current or fingerprint(root))['fingerprint']
    recorded = data.get('meta', {}).get('code', {}).get('parts', {})
    names = parts or list(recorded) or [k for k in data if k != 'meta']
    return {part: recorded.get(part) for part in names
            if recorded.get(part) != now}, now


def stale_message(stale, now, data_file):
    """One line for a build's or a test run's output: which parts, what to run."""
    parts = ', '.join(f'{part} ({was[:SHORT] if was else "unrecorded"})'
                      for part, was in stale.items())
    return (f'{data_file} was measured on other code than this tree -- {parts}; '
            f'the tree is {now[:SHORT]}.  Run `make bench` to measure it again.')


def stale_warning(root, data_file):
    """A warning line for a test run, or None when the numbers are current."""
    try:
        data = json.loads((Path(root) / data_file).read_text(encoding='utf-8'))
    except (OSError, ValueError) as error:
        return f'WARNING: cannot read {data_file} ({error}); run `make bench`'
    stale, now = stale_parts(data, root)
    return f'WARNING: {stale_message(stale, now, data_file)}' if stale else None


def code_files(root):
    """bench/'s sources and every runtime module they import, transitively.

    A tree without bench/ (a copy of the deck alone) has none: its
    fingerprint matches no measured code, and the slides say so.
    """
    root = Path(root)
    bench = sorted(p for p in (root / 'bench').glob('*')
                   if p.suffix in ('.py', '.c'))
    return import_closure(bench, root)


def import_closure(files, root):
    """files (under root) and every runtime module their Python imports,
    transitively: sorted paths relative to root."""
    root = Path(root)
    seen, todo = set(), [p for p in files if p.suffix == '.py']
    while todo:
        for module in imported_modules(todo.pop(), root):
            if module not in seen:
                seen.add(module)
                todo.append(module)
    return sorted(str(p.relative_to(root)) for p in set(files) | seen)


def imported_modules(path, root):
    """Files of the runtime modules (and their packages) that path imports."""
    src = root / 'src'
    package = _package_of(path, src)
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            names += [base] + [f'{base}.{alias.name}' for alias in node.names]
    found = []
    for name in names:
        if name.split('.')[0] != RUNTIME:
            continue
        parts = name.split('.')
        for depth in range(1, len(parts) + 1):     # a module runs its packages
            found += _module_file(src, parts[:depth])
    return found


def _package_of(path, src):
    """The dotted package path belongs to, if it lies under src/."""
    try:
        return '.'.join(path.parent.relative_to(src).parts)
    except ValueError:
        return ''


def _absolute(module, level, package):
    if not level:
        return module or ''
    base = package.split('.')[:len(package.split('.')) - level + 1]
    return '.'.join(base + ([module] if module else []))


def _module_file(src, parts):
    for candidate in (src.joinpath(*parts, '__init__.py'),
                      src.joinpath(*parts[:-1], f'{parts[-1]}.py')):
        if candidate.is_file():
            return [candidate]
    return []


def code_of(path):
    """What of a source file counts as code: its tree, or C without comments."""
    text = Path(path).read_text(encoding='utf-8')
    if Path(path).suffix == '.c':
        text = re.sub(r'/\*.*?\*/|//[^\n]*', ' ', text, flags=re.S)
        return ' '.join(text.split())
    return ast.dump(_without_docstrings(ast.parse(text)))


def _without_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:]
    return tree

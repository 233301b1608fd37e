"""``.. live-demo:: NAME``: a slide's claim, run from the slide.

NAME is a claim of ``microthread.demos.claims`` that the slide makes.
Served by ``make present`` (deckext.stage), the slide shows 运行 and, where
the claim has a counterfactual, 对照: each runs the check on the presenting
machine, and its output streams into the slide and the presenter console
(static/stage.js).  Everywhere else -- the PDF, the PNGs, the static slides
-- the slide shows the output recorded by the build, marked 录制; the
handout (``make html``) shows the recordings of both worlds.

A recording is ``python -m microthread.demos run NAME [--counterfactual]``,
run by the build just as the stage runs it (deckext.stage.Run), and kept in
``_build/live-demos/`` for as long as its key holds: the claims' code
(claims.py, the command's __main__.py and every runtime module they import,
as syntax trees, deckext.fingerprint), the interpreter, and whether the
build runs as root (a check that needs root records "skipped" without it).
Those files are the slides' dependencies, so a change of code makes Sphinx
read the slides again, and only then is a claim run again.

A recording that contradicts its world -- the claim refuted, the
counterfactual holding, an error, the time limit -- is a build warning
naming the claim, and is not kept: the next build runs it again.
"""

import contextlib
import hashlib
import html
import importlib.util
import json
import os
import sys
from pathlib import Path

from docutils import nodes
from hieroglyph.builder import AbstractSlideBuilder
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .fingerprint import code_digest, import_closure
from .stage import SOURCE_LANGUAGE, Run, claim_command, demo_language, registry
from .words import N_, P_, _, language

logger = logging.getLogger(__name__)

CACHE = Path('_build') / 'live-demos'      # under the project's root
EXPECTED = {False: (0, 3), True: (1, 3)}   # exit statuses of a run, of a counterfactual
RECORDED = N_('录制')                        # the mark on a recording


class live_demo(nodes.General, nodes.Element):
    """A claim run from its slide: ``name``, and ``without``, what its
    counterfactual takes away (None: it has none)."""


class LiveDemo(SphinxDirective):
    """``.. live-demo:: NAME``: buttons that run claim NAME, and its recorded output."""

    required_arguments = 1

    def run(self):
        name = self.arguments[0]
        claims = registry(demo_language(language()))
        if name not in claims:
            raise self.error(f'live-demo: no claim named {name!r} in microthread.demos.claims '
                             f'(python -m microthread.demos list: {", ".join(claims)})')
        root, files, _digest = claims_source()
        for path in files:
            self.env.note_dependency(str(root / path))
        node = live_demo(name=name, without=claims[name])
        self.set_source_info(node)
        return [node]


_source = {}   # {the runtime's files and their mtimes: (root, files, digest)}


def claims_source(demos=None):
    """(root, the files under root, their digest) of the code a claim's run
    executes, the package microthread.demos (or the one in demos) and what
    it imports; worked out again only once a file of the runtime changed."""
    if demos is None:
        demos = Path(importlib.util.find_spec('microthread.demos').origin).parent
    root = demos.parents[2]              # src/microthread/demos -> the project
    stamp = tuple((str(path), path.stat().st_mtime_ns)
                  for path in sorted(demos.parent.rglob('*.py')))
    if stamp not in _source:
        files = import_closure([demos / 'claims.py', demos / '__main__.py'], root)
        _source.clear()
        _source[stamp] = root, files, code_digest(root, files)
    return _source[stamp]


def recording_key(name, counterfactual, language=SOURCE_LANGUAGE):
    facts = [name, str(counterfactual), language, claims_source()[2], sys.version,
             'root' if os.geteuid() == 0 else 'not root']
    return hashlib.sha256('\0'.join(facts).encode()).hexdigest()


def recording(root, name, counterfactual=False, language=SOURCE_LANGUAGE):
    """{'status', 'output'} of claim name's run (or its counterfactual's)
    in language, from the cache under root while its key holds, else run now."""
    key = recording_key(name, counterfactual, language)
    world = f'{name}{"--counterfactual" if counterfactual else ""}'
    path = Path(root) / CACHE / f'{world}{"" if language == SOURCE_LANGUAGE else "." + language}.json'
    with contextlib.suppress(OSError, ValueError):
        kept = json.loads(path.read_text(encoding='utf-8'))
        if kept.get('key') == key:
            return kept
    chunks = []
    status = Run(claim_command(name, counterfactual, language=language),
                 language=language).stream(chunks.append)
    made = {'key': key, 'status': status,
            'output': b''.join(chunks).decode('utf-8', 'replace').rstrip('\n')}
    if status in EXPECTED[counterfactual]:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix('.partial')
        partial.write_text(json.dumps(made, ensure_ascii=False), encoding='utf-8')
        partial.replace(path)
    return made


def recorded(translator, node, counterfactual=False):
    """The recording of node's claim, with a warning if it contradicts its world."""
    made = recording(translator.builder.srcdir, node['name'], counterfactual,
                     demo_language(language()))
    if made['status'] not in EXPECTED[counterfactual]:
        label = node['name'] + (' --counterfactual' if counterfactual else '')
        last = made['output'].splitlines()[-1:] or ['(no output)']
        logger.warning(f'live-demo {label}: the recording ended with exit status '
                       f'{made["status"]}, not {" or ".join(map(str, EXPECTED[counterfactual]))}: '
                       f'{last[0]}', location=node)
    return made['output']


def slide_html(name, without, output):
    """The slide's part: buttons (shown by stage.js on a stage) beside a screen
    with the recording.  No whitespace between tags: the screen keeps it."""
    e = html.escape
    run_title = _('现场运行 {name}').format(name=name)
    buttons = (f'<button type="button" data-demo="{e(name)}" '
               f'title="{e(run_title)}">{P_("button", "运行")}</button>')
    if without is not None:
        title = _('对照：{without}').format(without=without)
        buttons += (f'<button type="button" data-demo-counterfactual="{e(name)}" '
                    f'title="{e(title)}">{_("对照")}</button>')
    return (f'<div class="live-demo" data-live-demo="{e(name)}" data-demo-state="recorded">'
            f'<div class="live-demo-buttons">{buttons}</div>'
            f'<div class="live-demo-screen" role="log">'
            f'<span class="live-demo-mark" data-demo-mark="{e(name)}" '
            f'title="{_("构建幻灯片时录制的输出")}">{_(RECORDED)}</span>'
            f'<span data-demo-output="{e(name)}">{e(output)}</span></div></div>')


def handout_html(name, without, run, counterfactual):
    """The handout's part: the recordings of both worlds, one after the other."""
    e = html.escape
    parts = [f'<div class="live-demo" data-live-demo="{e(name)}">',
             f'<p>{_("录制的输出：")}</p><pre data-demo-output="{e(name)}">{e(run)}</pre>']
    if without is not None:
        heading = _('录制的对照（{without}）：').format(without=e(without))
        parts.append(f'<p>{heading}</p><pre>{e(counterfactual)}</pre>')
    return '\n'.join(parts + ['</div>\n'])


def visit_live_demo(self, node):
    name, without = node['name'], node['without']
    if isinstance(self.builder, AbstractSlideBuilder):
        self.body.append(slide_html(name, without, recorded(self, node)))
    else:
        counterfactual = recorded(self, node, True) if without is not None else None
        self.body.append(handout_html(name, without, recorded(self, node), counterfactual))
    raise nodes.SkipNode


def _add_page_files(app):
    # stage.js and stage.css are the slide theme's (themes/deck/static); the
    # theme's own custom_js names one file, so they are added here.
    if isinstance(app.builder, AbstractSlideBuilder):
        app.add_js_file('stage.js')
        app.add_css_file('stage.css')


def setup(app):
    app.add_node(live_demo, html=(visit_live_demo, None))
    app.add_directive('live-demo', LiveDemo)
    app.connect('builder-inited', _add_page_files)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}

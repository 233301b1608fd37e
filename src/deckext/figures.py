"""``.. svg:: images/hub.svg``: a drawing put inline, in the edition's language.

A drawing with words in it is translated as a whole, not sentence by
sentence: English is longer than Chinese, so its boxes hold other lines at
other places.  The English edition shows ``images/hub.en.svg`` beside the
Chinese ``images/hub.svg`` -- the naming of Sphinx's own
``figure_language_filename`` -- and a build of an edition that lacks its
drawing warns, naming both files (a strict build fails).

Inline, not ``<img>``: the drawing's ``<title>`` and ``<desc>`` then reach a
screen reader, and its text is the page's text, in the page's fonts.
"""

from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from .words import is_source, language


def edition_file(path):
    """path for the source edition; path.<lang>.svg for another."""
    if is_source():
        return path
    return path.with_name(f'{path.stem}.{language()}{path.suffix}')


class Svg(SphinxDirective):
    """``.. svg:: FILE``, FILE relative to the .rst file that says it
    (slides/ for a slide, although index.rst includes it)."""

    required_arguments = 1

    def run(self):
        source = Path(self.get_source_info()[0]).parent / self.arguments[0]
        path = edition_file(source)
        if not path.exists():
            raise self.error(f'svg: no {path.name} beside {source.name} '
                             f'for the {language()} edition' if path != source
                             else f'svg: no file {source}')
        self.env.note_dependency(str(path))
        return [nodes.raw('', path.read_text(encoding='utf-8'), format='html')]


def setup(app):
    app.add_directive('svg', Svg)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}

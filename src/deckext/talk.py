"""The talk's shape: its parts, the agenda, and how long its notes take to say.

A talk in a fixed slot needs a map the audience can hold: an agenda slide
(提纲) that lists the parts, and a divider at the start of each part that
shows the same list with that part marked.  The list is written once, as
``deck_parts`` in conf.py, and drawn by one directive::

    .. agenda::          (the whole list: the agenda slide)
    .. agenda:: 3        (the list with part 3 marked: its divider)

The speaking time of the notes is counted here too, so that the tests and
the writer agree on it: a *unit* is a CJK character, or a Latin word or a
number.  A calm speaker says about 250 units a minute in Chinese and 150
words a minute in English (the pace of conversation): the same note is
about a third fewer units in English, and says no faster.  Every build
ends with one line that says how long the main path (the slides before
附录) takes to say in its edition's language.
"""

import re

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .words import N_, SOURCE_LANGUAGE, _, is_source, language

logger = logging.getLogger(__name__)

UNITS_PER_MINUTE = {SOURCE_LANGUAGE: 250, 'en': 150}
APPENDIX = N_('附录')
NUMERALS = '一二三四五六七八九十'

# A CJK ideograph is a unit; so is a run of Latin letters, digits and the
# characters that join them into one spoken word or number (3.11, I/O, 1:1,
# epoll_wait, 3,014).
UNIT = re.compile(r'[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]'
                  r'|[A-Za-z0-9]+(?:[._:/\'-][A-Za-z0-9]+|,[0-9]{3}\b)*')


def spoken_units(text):
    """How many units a speaker says reading text aloud."""
    return len(UNIT.findall(text))


def minutes(units, language=SOURCE_LANGUAGE):
    """How long a calm speaker of language takes to say units."""
    return units / UNITS_PER_MINUTE[language]


def part_title(number, part):
    """The divider's title of a part: 第三部分：用户级的事件驱动."""
    return f'第{NUMERALS[number - 1]}部分：{part}'


class Agenda(SphinxDirective):
    """The talk's parts as a list, the current one (if given) marked."""

    optional_arguments = 1

    def run(self):
        parts = self.config.deck_parts
        current = self._current(len(parts))
        agenda = nodes.bullet_list(classes=['agenda'])
        for number, part in enumerate(parts, 1):
            mark = number == current
            item = nodes.list_item(classes=['current'] if mark else [])
            numeral = NUMERALS[number - 1] if is_source() else str(number)
            text = _('{numeral}、{part}').format(numeral=numeral, part=_(part))
            item += nodes.paragraph('', '', nodes.strong(text=text) if mark
                                    else nodes.Text(text))
            agenda += item
        return [agenda]

    def _current(self, count):
        if not self.arguments:
            return None
        argument = self.arguments[0]
        if not argument.isdigit() or not 1 <= int(argument) <= count:
            raise self.error(f'agenda: part {argument!r} is not one of 1..{count} '
                             f'of deck_parts in conf.py')
        return int(argument)


def main_path_notes(doctree):
    """(title, notes) of each slide before the appendix, in order."""
    slides = []
    for section in doctree.findall(nodes.section):
        title = section.next_node(nodes.title).astext()
        if title == _(APPENDIX):
            break
        notes = [note.astext() for note in section.findall(nodes.note)
                 if note.parent is section]
        slides.append((title, ' '.join(notes)))
    return slides


def report_speaking_time(app, doctree, docname):
    if docname != app.config.root_doc:
        return
    slides = main_path_notes(doctree)
    units = sum(spoken_units(notes) for _, notes in slides)
    logger.info(f'talk: {len(slides)} slides before {_(APPENDIX)}, '
                f'{minutes(units, language()):.1f} minutes of notes at '
                f'{UNITS_PER_MINUTE[language()]} units a minute')


def setup(app):
    app.add_config_value('deck_parts', [], 'env')
    app.add_directive('agenda', Agenda)
    app.connect('doctree-resolved', report_speaking_time)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}

"""Let hieroglyph 2.1.0 (its last release, 2020) build on current Sphinx.

hieroglyph builds its default theme cleanly only up to Sphinx 6.2; on later
versions it fails, sometimes after ``index.html`` is already written, so a
broken build can look like a good one.  Rather than freeze the deck on an old
Sphinx, this module bridges exactly the API changes that hieroglyph trips on:

* 7.0 removed the ``style`` template variable, which hieroglyph's layout uses
  on every page (``genindex.html`` and ``console.html`` get no value for it);
* 7.2 made ``srcdir``/``outdir`` Path objects, and ``post_process_images``
  does ``len(self.srcdir)`` and ``str.startswith(self.outdir)``;
* 7.3 made ``HTMLThemeFactory.load_additional_themes`` private, and 9.0 made
  the factory's constructor keyword-only;
* 9.0 turned ``css_files``/``script_files`` entries into objects, which the
  layout passes to ``pathto()`` as if they were strings;
* (4.0 already renamed ``favicon`` to ``favicon_url``: no icon, so the
  browser's own ``/favicon.ico`` request logs a 404.)

Two browser-side faults are fixed here too, because they come from the same
age gap: the theme's JavaScript needs jQuery, which Sphinx stopped shipping in
6.0 (``$ is not defined``; sphinxcontrib-jquery brings it back), and the
layout declares ``var DOCUMENTATION_OPTIONS`` inline while current Sphinx also
loads ``documentation_options.js``, which declares it again with ``const``.
"""

import json
import os
import posixpath

from docutils import nodes
from hieroglyph.builder import AbstractSlideBuilder, building_slides
from sphinx.theming import HTMLThemeFactory

# The layout links these itself; listing them again in css_files would load
# each stylesheet twice.
_LINKED_BY_LAYOUT = {'basic.css', 'styles.css', 'pygments.css'}

# The layout declares DOCUMENTATION_OPTIONS inline; this file would redeclare it.
_DECLARED_BY_LAYOUT = 'documentation_options.js'


def _theme_factory(app):
    """Build an HTMLThemeFactory with whichever constructor this Sphinx has."""
    try:
        return HTMLThemeFactory(
            confdir=app.confdir, app=app, config=app.config, registry=app.registry
        )
    except TypeError:  # before 9.0 the factory took the app alone
        return HTMLThemeFactory(app)


def apply_theme(self, themename, themeoptions):
    """hieroglyph's ``apply_theme`` on the current theming API.

    Same steps as the original: push the current theme, load hieroglyph's
    bundled themes plus ``slide_theme_path``, create the named theme.
    """
    self._theme_stack.append((self.theme, self.theme_options))

    factory = _theme_factory(self.app)
    load = getattr(factory, 'load_additional_themes', None)
    if load is None:  # private since 7.3
        load = factory._load_additional_themes
    load(self.get_builtin_theme_dirs() + list(self.config.slide_theme_path))

    self.theme = factory.create(themename)
    self.theme_options = themeoptions.copy()
    self.templates.init(self, self.theme)
    self.templates.environment.filters['json'] = json.dumps

    if self.theme not in self._additional_themes:
        self._additional_themes.append(self.theme)


def post_process_images(self, doctree):
    """hieroglyph's image URI fix-up, with srcdir/outdir taken as strings."""
    super(AbstractSlideBuilder, self).post_process_images(doctree)

    srcdir, outdir = os.fspath(self.srcdir), os.fspath(self.outdir)
    source = doctree.attributes.get('source')
    relative_base = ['..'] * source[len(srcdir) + 1:].count('/')

    for node in doctree.findall(nodes.image):
        if node.get('candidates') is None:
            node['candidates'] = ('*',)
        if node['uri'].startswith(outdir):
            node['uri'] = '/'.join(relative_base + [node['uri'][len(outdir) + 1:]])


def _filename(asset):
    """The file name of a css/script entry: a str before Sphinx 9, an object since."""
    return os.fspath(getattr(asset, 'filename', asset))


def _fix_page_context(app, pagename, templatename, context, doctree):
    """Give hieroglyph's layout the template variables it was written for."""
    if not building_slides(app):
        return

    style = app.builder.theme.get_config('theme', 'stylesheet')
    context.setdefault('style', style.split(',')[0].strip())
    if context.get('favicon_url'):  # the layout predates its 4.0 rename
        context.setdefault('favicon', posixpath.basename(context['favicon_url']))

    def by_priority(assets):
        return sorted(assets, key=lambda asset: getattr(asset, 'priority', 500))

    context['script_files'] = [
        _filename(js)
        for js in by_priority(context.get('script_files', ()))
        if _filename(js) and posixpath.basename(_filename(js)) != _DECLARED_BY_LAYOUT
    ]
    skip_css = _LINKED_BY_LAYOUT | {context['style']}
    context['css_files'] = [
        _filename(css)
        for css in by_priority(context.get('css_files', ()))
        if posixpath.basename(_filename(css)) not in skip_css
    ]


def setup(app):
    app.setup_extension('hieroglyph')
    app.setup_extension('sphinxcontrib.jquery')

    AbstractSlideBuilder.apply_theme = apply_theme
    AbstractSlideBuilder.post_process_images = post_process_images
    # Run after hieroglyph's own html-page-context handler (priority 500).
    app.connect('html-page-context', _fix_page_context, priority=900)

    return {'parallel_read_safe': True, 'parallel_write_safe': True}

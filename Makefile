# The deck "进程、线程、微线程和事件驱动": slides, handout, tests.
#
# Every target sets up its own .venv from requirements.txt on first use, so a
# fresh clone needs only python3 and make.  `make help` lists the targets.

PYTHON ?= python3
PORT   ?= 8000
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SPHINX := $(BIN)/sphinx-build
BUILD  := _build
# Warnings are errors, all of them reported (-W --keep-going), references
# checked (-n), and a fresh environment (-E) so no warning hides in a cache.
STRICT := -W --keep-going -n -E

# The edition: `make slides lang=en` builds the English one, from the
# translations in locales/en/LC_MESSAGES, into _build/slides-en (and so for
# html, pdf and screens); without lang, the Chinese source.  Not LANG: that
# is the locale's own variable, which sphinx-build reads.
lang   ?=
EDITIONS := $(notdir $(wildcard locales/*))
ifneq ($(strip $(lang)),)
ifeq ($(filter $(lang),$(EDITIONS)),)
$(error lang=$(lang) has no translation in locales/ (editions: zh_CN, the source; $(EDITIONS)))
endif
EDITION := -$(lang)
LANGOPT := -D language=$(lang)
endif

# A locale the machine lacks (LANG=zh_CN.UTF-8 where only C.UTF-8 exists)
# makes sphinx-build's setlocale fail with a traceback: fall back to one it
# has, and say so once.
LOCALE_TRY = $(PYTHON) -c 'import locale; locale.setlocale(locale.LC_ALL, "")' 2>/dev/null
ifneq ($(shell $(LOCALE_TRY) && echo ok),ok)
ASKED  := $(or $(LC_ALL),$(LC_CTYPE),$(LANG))
FALLBACK := $(shell for l in C.UTF-8 en_US.UTF-8; do LC_ALL=$$l $(LOCALE_TRY) && echo $$l && break; done)
$(info make: locale $(ASKED) is not installed here; using $(FALLBACK))
export LC_ALL := $(FALLBACK)
endif

.DEFAULT_GOAL := help
.PHONY: help slides html present test clean

help: ## show this list
	@awk -F ':.*## ' '/^[a-z]+:.*## / { printf "  make %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

slides: $(STAMP) ## build the slides: _build/slides/index.html (lang=en: _build/slides-en)
	$(SPHINX) -b slides $(LANGOPT) . $(BUILD)/slides$(EDITION)

# Every translated edition's slides, quietly, beside the source's: what
# present serves and pictures photographs (_build/slides-en, ...).
.PHONY: translations
translations: $(STAMP)
	$(foreach l,$(EDITIONS),$(SPHINX) -q -b slides -D language=$(l) . $(BUILD)/slides-$(l) &&) true

html: $(STAMP) ## build a readable handout: _build/html/index.html (lang=en too)
	$(SPHINX) -b html $(LANGOPT) . $(BUILD)/html$(EDITION)

# deckext.stage serves the built deck as http.server would, and runs the
# claim of a slide with a live demo when its 运行 or 对照 button is pressed.
# Both editions are served, the Chinese at / (and /slides/), the English at
# /slides-en/: the key l, or the console's button, switches to the same slide
# in the other language.
present: slides translations ## serve both editions on 127.0.0.1 (PORT=8000), demos live, until Ctrl-C
	$(BIN)/python -m deckext.stage $(BUILD)/slides $(foreach l,$(EDITIONS),$(BUILD)/slides-$(l)) --port $(PORT)

# Presenting off the screen and while writing: deckext.present drives
# Debian's headless Chromium over the built deck; sphinx-autobuild rebuilds
# on a change to the deck's sources and reloads the open page (#N kept).
.PHONY: pdf live screens
# Only these trigger a live rebuild: the slides, src/ and the deck's two root files.
LIVE_SOURCES := ^(?!$(realpath $(CURDIR))/(slides/|src/|conf\.py$$|index\.rst$$))

pdf: slides ## PDF handout, a slide a page: _build/deck.pdf (NOTES=1: notes under each; lang=en too)
	$(BIN)/python -m deckext.present pdf $(BUILD)/slides$(EDITION) \
	    $(BUILD)/deck$(EDITION)$(if $(NOTES),-notes).pdf $(if $(NOTES),--notes)

live: $(STAMP) ## serve the slides on 127.0.0.1 (PORT), rebuilt and reloaded on edit
	$(BIN)/sphinx-autobuild -b slides -E --host 127.0.0.1 --port $(PORT) \
	    --re-ignore '$(LIVE_SOURCES)' --re-ignore '__pycache__|\.pyc$$' \
	    . $(BUILD)/live

screens: slides ## a PNG of every slide and a contact sheet: _build/screens/ (lang=en too)
	$(BIN)/python -m deckext.present screens $(BUILD)/slides$(EDITION) $(BUILD)/screens$(EDITION)

# The README's pictures, of the deck as it is: run after a change of slides
# (tests/deck/test_deck_present.py fails until then).  SLIDE="title" picks
# another slide than deckext.present's default.
.PHONY: pictures
pictures: slides translations ## the README's docs/slide.png, slide-en.png, console.png, live.png, pictures.json
	$(BIN)/python -m deckext.present pictures $(BUILD)/slides docs --english $(BUILD)/slides-en \
	    $(if $(SLIDE),--slide "$(SLIDE)")

test: $(STAMP) ## unit tests and doctests, slide doctests, strict slides builds (both editions)
	$(BIN)/python -m pytest -rs --cov=microthread --cov-report=term-missing:skip-covered
	$(SPHINX) -b doctest $(STRICT) . $(BUILD)/doctest
	$(SPHINX) -b slides $(STRICT) . $(BUILD)/slides
	$(SPHINX) -b slides $(STRICT) -D language=en . $(BUILD)/slides-en

.PHONY: fuzz
fuzz: $(STAMP) ## model-check the loop at length: 10,000+ random rule steps a backend
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -s -p no:cacheprovider \
	    --no-cov --timeout=1800 tests/test_fd_model.py

$(VENV)/.bench-installed: $(STAMP) requirements-bench.txt
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	touch $@

.PHONY: bench
bench: $(VENV)/.bench-installed ## measure (~15 min): slides/data/bench.json
	$(BIN)/python -m bench --out slides/data/bench.json

# The translation workflow: after a change to the Chinese text, this brings
# its new and changed messages into locales/en/LC_MESSAGES/index.po (the
# slides) and deck.po (the words deckext writes: deckext.words), to be
# translated in the same commit (make test fails on an untranslated one).
.PHONY: gettext
gettext: $(STAMP) ## update locales/*/LC_MESSAGES from the Chinese text, for translating
	$(SPHINX) -q -b gettext . $(BUILD)/gettext
	$(BIN)/python -m deckext.words $(BUILD)/gettext
	$(BIN)/sphinx-intl update -p $(BUILD)/gettext -d locales $(foreach l,$(EDITIONS),-l $(l))

clean: ## remove built output (keeps .venv)
	rm -rf $(BUILD)

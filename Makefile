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

.DEFAULT_GOAL := help
.PHONY: help slides html present test clean

help: ## show this list
	@awk -F ':.*## ' '/^[a-z]+:.*## / { printf "  make %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

slides: $(STAMP) ## build the slides: _build/slides/index.html
	$(SPHINX) -b slides . $(BUILD)/slides

html: $(STAMP) ## build a readable handout: _build/html/index.html
	$(SPHINX) -b html . $(BUILD)/html

# deckext.stage serves the built deck as http.server would, and runs the
# claim of a slide with a live demo when its 运行 or 对照 button is pressed.
present: slides ## serve the slides on 127.0.0.1 (PORT=8000), demos live, until Ctrl-C
	$(BIN)/python -m deckext.stage $(BUILD)/slides --port $(PORT)

# Presenting off the screen and while writing: deckext.present drives
# Debian's headless Chromium over the built deck; sphinx-autobuild rebuilds
# on a change to the deck's sources and reloads the open page (#N kept).
.PHONY: pdf live screens
# Only these trigger a live rebuild: the slides, src/ and the deck's two root files.
LIVE_SOURCES := ^(?!$(realpath $(CURDIR))/(slides/|src/|conf\.py$$|index\.rst$$))

pdf: slides ## PDF handout, a slide a page: _build/deck.pdf (NOTES=1: notes under each)
	$(BIN)/python -m deckext.present pdf $(BUILD)/slides \
	    $(BUILD)/deck$(if $(NOTES),-notes).pdf $(if $(NOTES),--notes)

live: $(STAMP) ## serve the slides on 127.0.0.1 (PORT), rebuilt and reloaded on edit
	$(BIN)/sphinx-autobuild -b slides -E --host 127.0.0.1 --port $(PORT) \
	    --re-ignore '$(LIVE_SOURCES)' --re-ignore '__pycache__|\.pyc$$' \
	    . $(BUILD)/live

screens: slides ## a PNG of every slide and a contact sheet: _build/screens/
	$(BIN)/python -m deckext.present screens $(BUILD)/slides $(BUILD)/screens

# The README's pictures, of the deck as it is: run after a change of slides
# (tests/deck/test_deck_present.py fails until then).  SLIDE="title" picks
# another slide than deckext.present's default.
.PHONY: pictures
pictures: slides ## the README's docs/slide.png, docs/console.png and docs/pictures.json
	$(BIN)/python -m deckext.present pictures $(BUILD)/slides docs $(if $(SLIDE),--slide "$(SLIDE)")

test: $(STAMP) ## unit tests and doctests, slide doctests, strict slides build
	$(BIN)/python -m pytest -rs --cov=microthread --cov-report=term-missing:skip-covered
	$(SPHINX) -b doctest $(STRICT) . $(BUILD)/doctest
	$(SPHINX) -b slides $(STRICT) . $(BUILD)/slides

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

clean: ## remove built output (keeps .venv)
	rm -rf $(BUILD)

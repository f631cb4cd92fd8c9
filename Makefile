# The two commands of the README's quickstart. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup clean bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: 2.13.0 is the CPU wheel; an unpinned torch would pull a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

# Debian's chromium for the browser check of the report pages (tests/report/test_browser.py), best effort:
# a machine without apt-get, or without the rights to use it, still sets up (that test then skips, saying why).
setup: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		( command -v apt-get >/dev/null 2>&1 && (apt-get install -y -q chromium >/dev/null 2>&1 || \
		  (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) ) || \
		echo "setup: chromium not installed; the browser check of the report pages will be skipped"

demo: $(STAMP)
	$(BIN)/dlscope run zhang2017-random-labels --out runs/zhang2017-random-labels

test: setup
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python bench/train_overhead.py

clean:
	rm -rf $(VENV) runs

# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

# keyframe needs Python 3.11 (pyproject.toml): a .venv of another Python (left by an earlier try) is made again.
IS_311 := import sys; sys.exit(sys.version_info[:2] != (3, 11))

$(STAMP): pyproject.toml
	@if ! $(BIN)/python -c '$(IS_311)' 2>/dev/null; then \
		$(PYTHON) -c '$(IS_311)' 2>/dev/null || { echo "keyframe needs Python 3.11; $(PYTHON) is not: give one, e.g. make demo PYTHON=python3.11" >&2; exit 2; }; \
		if [ -e $(VENV) ]; then echo "$(VENV) is not a Python 3.11 environment: making it again"; rm -rf $(VENV); fi; \
		$(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/keyframe demo out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.all

clean:
	rm -rf out .pytest_cache

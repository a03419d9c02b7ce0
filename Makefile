# `make demo` and `make test` each create .venv when missing, install the project, and run.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench parity clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m nirjax demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) benchmarks/bench_ideal.py --out benchmarks/results/ideal_$$(hostname).json
	test ! -f benchmarks/bench_platforms.py || $(PY) benchmarks/bench_platforms.py
	$(PY) benchmarks/bench_conv.py

# Installs the real peer frameworks (two envs under .peers/), re-records their
# outputs into tests/golden/ and checks nirjax's platform models against them.
parity: $(STAMP)
	bash tests/parity/record_all.sh
	$(PY) -m pytest -q -p no:cacheprovider tests/test_platform_parity.py

clean:
	rm -rf $(VENV) build *.egg-info

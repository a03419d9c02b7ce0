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
	$(PY) -m pytest -q -p no:cacheprovider --durations=15

# Ideal-model and platform benchmarks on whatever JAX backend is present (results/<backend>-<host>/),
# the executor's convolution rule, and Yin-Yang training beside jaxsnn 0.3.0 when its venv exists
# (python3 -m venv .peers/jaxsnn && .peers/jaxsnn/bin/pip install jaxsnn==0.3.0 jax==0.10.2 jaxlib==0.10.2).
bench: $(STAMP)
	$(PY) benchmarks/run_benchmarks.py
	$(PY) benchmarks/bench_conv.py
	$(PY) benchmarks/bench_training.py --epochs 4 --json benchmarks/results/training_$$(hostname).json \
	  $$(test -x .peers/jaxsnn/bin/python && echo --jaxsnn .peers/jaxsnn/bin/python)

# Installs the real peer frameworks (two envs under $PEERS_DIR, default .peers/), re-records
# their outputs into tests/golden/ (fails unless byte-identical to git's), checks the findings
# (verify_rules.py), nirjax's platform models against the goldens, and the trained model's
# per-sample predictions in the real frameworks (tests/golden/predictions).
parity: $(STAMP)
	CHECK=1 bash tests/parity/record_all.sh
	$(PY) -m pytest -q -p no:cacheprovider tests/test_platform_parity.py
	$(PY) tests/parity/check_predictions.py --dir tests/golden/predictions

clean:
	rm -rf $(VENV) build *.egg-info

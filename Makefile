# lossctl: `make run` and `make test` are all a fresh machine needs (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Reference libraries for regenerating golden values live in a separate venv, never in the project's.
REFPY  ?= /work/refenv/bin/python
TORCH_PYTHON ?= $(REFPY)
SAMPLE_ARGS := sample_data/pred_probs sample_data/gt --class-names background,road,building,vegetation

.PHONY: install run test test-slow bench golden sample readme clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## evaluate the bundled sample data
	$(VENV)/bin/lossctl seg $(SAMPLE_ARGS) --per-class

test: $(STAMP)  ## the test suite (CI runs this)
	$(PY) -m pytest $(if $(TESTS),-x -k '$(TESTS)')

test-slow: $(STAMP)  ## property and fuzz tests with many more examples
	LOSSCTL_HYPOTHESIS=slow LOSSCTL_FUZZ=2000 $(PY) -m pytest tests/test_properties.py tests/test_io.py

bench: $(STAMP)  ## benchmark; writes BENCHMARKS.md (the torch baseline runs in TORCH_PYTHON when it exists)
	$(PY) tools/bench.py --torch-python "$(TORCH_PYTHON)"

golden:  ## regenerate golden fixtures from the reference libraries (needs $(REFPY))
	$(REFPY) tools/make_golden_seg.py
	$(REFPY) tools/make_golden_seg_presets.py
	$(REFPY) tools/make_golden_cls.py

sample: $(STAMP)  ## regenerate sample_data/
	$(PY) tools/make_sample_data.py

readme: $(STAMP)  ## rewrite the README's catalogue table from the registry
	$(PY) tools/update_readme.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

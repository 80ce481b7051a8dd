# lossctl: `make run` and `make test` are all a fresh machine needs (see README.md; docs/development.md for the rest).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Reference libraries for regenerating golden values live in a separate venv, never in the project's
# (`make refenv` builds it; override REFENV / REFENV_BUILD to put it elsewhere or reuse one).
REFENV       ?= .refenv
REFENV_BUILD ?= .refenv-build
REFPY        ?= $(REFENV)/bin/python
GOLDEN_ENV   := KERAS_BACKEND=torch REFENV_BUILD=$(abspath $(REFENV_BUILD))
TORCH_PYTHON ?= $(REFPY)
# panoptica 2.1.7 pins numpy<2.3 and connected-components-3d<4: its own venv (`make refenv-panoptica`), used by
# `make bench` (V5) when it exists
PANOPTICA_ENV    ?= .refenv-panoptica
# GitHub-only references run from checkouts (their commits are recorded in the fixtures): jocpae/clDice,
# bowenc0221/boundary-iou-api and Project-MONAI/MetricsReloaded, cloned side by side in this folder
REFS ?= ../refs
PANOPTICA_PYTHON ?= $(PANOPTICA_ENV)/bin/python
SAMPLE_ARGS := sample_data/pred_probs sample_data/gt --class-names background,road,building,vegetation

.PHONY: install run lint test test-slow bench bench-instances golden refenv refenv-panoptica sample readme clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## evaluate the bundled sample data
	$(VENV)/bin/lossctl seg $(SAMPLE_ARGS) --per-class

lint: $(STAMP)  ## ruff over the package, the tests and tools/ (make test runs it first)
	$(VENV)/bin/ruff check lossctl tests tools

test: $(STAMP) lint  ## lint, then the test suite (CI runs this)
	$(PY) -m pytest -n auto --dist loadfile $(if $(TESTS),-x -k '$(TESTS)')

test-slow: $(STAMP)  ## property and fuzz tests with many more examples
	LOSSCTL_HYPOTHESIS=slow LOSSCTL_FUZZ=2000 $(PY) -m pytest tests/test_properties.py tests/io/test_io.py

bench: $(STAMP)  ## benchmark; writes BENCHMARKS.md (the torch baseline runs in TORCH_PYTHON when it exists)
	$(PY) tools/bench.py --torch-python "$(TORCH_PYTHON)"
	$(PY) tools/bench_volumes.py --refpy "$(TORCH_PYTHON)"  # V4 (volumes): its own section of BENCHMARKS.md
	$(PY) tools/bench_instances.py --panoptica-python "$(PANOPTICA_PYTHON)"  # V5 (lesions, against panoptica)
	$(PY) tools/bench_memory.py  # M (the memory budget: large genuine files, decompression bombs)
	$(PY) tools/bench_remote.py  # S (W1 read from a local S3 server against the same files on disk)

bench-instances: $(STAMP)  ## V5 alone: lesion volumes against panoptica (in PANOPTICA_PYTHON when it exists)
	$(PY) tools/bench_instances.py --panoptica-python "$(PANOPTICA_PYTHON)"

golden:  ## regenerate golden fixtures from the reference libraries (in $(REFENV): `make refenv`)
	$(GOLDEN_ENV) $(REFPY) tools/make_golden_seg.py
	$(GOLDEN_ENV) $(REFPY) tools/make_golden_seg_conventions.py
	$(GOLDEN_ENV) $(REFPY) tools/make_golden_cls.py
	$(GOLDEN_ENV) $(REFPY) tools/make_golden_conventions.py
	$(GOLDEN_ENV) $(REFPY) tools/make_golden_regions.py
	$(GOLDEN_ENV) $(REFPY) tools/make_golden_boundary.py
	$(GOLDEN_ENV) $(REFPY) tools/make_golden_sklearn_average.py
	$(GOLDEN_ENV) $(REFPY) tools/make_golden_topology.py --refs $(REFS)
	METRICSRELOADED=$(REFS)/MetricsReloaded $(GOLDEN_ENV) $(REFPY) tools/make_golden_calibration.py
	METRICSRELOADED=$(REFS)/MetricsReloaded $(GOLDEN_ENV) $(REFPY) tools/make_golden_counting.py
	$(GOLDEN_ENV) $(REFPY) tools/make_surfel_table.py

refenv:  ## build the reference venv (pinned in tools/refenv/) and download the wheels loaded by path
	$(PYTHON) -m venv $(REFENV)
	$(REFENV)/bin/pip install torch==2.13.0
	$(REFENV)/bin/pip install -r tools/refenv/requirements.txt -c tools/refenv/constraints.txt
	$(REFENV)/bin/pip uninstall -y torchvision timm
	$(REFENV)/bin/pip install --no-deps netcal==1.4.0  # its calibration metrics only (it pulls pyro and gpytorch)
	$(REFENV)/bin/pip download --no-deps -d $(REFENV_BUILD)/tv torchvision==0.28.0
	$(REFENV)/bin/pip download --no-deps -d $(REFENV_BUILD)/nnunet nnunetv2==2.8.1

refenv-panoptica:  ## build panoptica 2.1.7's own venv for `make bench` V5 and its golden values
	$(PYTHON) -m venv $(PANOPTICA_ENV)
	$(PANOPTICA_ENV)/bin/pip install panoptica==2.1.7

sample: $(STAMP)  ## regenerate sample_data/
	$(PY) tools/make_sample_data.py

readme: $(STAMP)  ## rewrite the generated blocks of README.md and docs/*.md (registry, layout, example outputs)
	$(PY) tools/update_readme.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info

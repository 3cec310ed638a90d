# Two commands for a fresh machine: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv/ here if it is missing and install gentax into it first.
VENV ?= .venv
PY := $(VENV)/bin/python
# PyTorch: the CPU build on this kind of machine. On a GPU machine install your CUDA build of
# torch into .venv first (or pass TORCH='torch==X.Y.Z+cuNNN' with your index); an importable
# torch is never replaced.
TORCH ?= torch==2.13.0

.PHONY: setup demo test bench lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(VENV)/bin/gentax envs
	$(VENV)/bin/gentax rollout sokoban --policy expert --episodes 50 --split eval --out runs/demo/sokoban-expert.jsonl
	$(VENV)/bin/gentax rollout sokoban --policy random --episodes 50 --split eval --out runs/demo/sokoban-random.jsonl
	@echo "Trajectories written to runs/demo/"

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) -m pip install -q --no-deps gym-sokoban==0.0.6
	$(PY) bench/sokoban_generation.py
	$(PY) bench/sciworld_overhead.py

lint: setup
	$(VENV)/bin/ruff check src tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache

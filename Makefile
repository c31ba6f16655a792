# Two commands do everything on a fresh machine with Python 3.11:
#   make demo   set up .venv, build index/ from seeds/ if missing or stale, ask a question
#   make test   set up .venv, run the test suite
#   make test-llm   also install a real llama.cpp server and run the LLM tests against it
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLM_STAMP := $(VENV)/.installed-llm
QUESTION ?= What did Azerbaijan say about the 132-km border?

.PHONY: demo chat test test-llm lint format index clean install terminal-tools bench

install: $(STAMP)

# torch goes in first, pinned, so that no dependency resolves it to a CUDA build.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[all,dev]"
	touch $(STAMP)

# Builds index/ when missing; otherwise re-embeds only what changed in seeds/.
index: $(STAMP)
	@if [ -f index/manifest.json ]; then \
		$(BIN)/assistant index update --index ./index; \
	else \
		$(BIN)/assistant index build seeds --index ./index; \
	fi

demo: index
	@echo
	@echo "$$ assistant ask \"$(QUESTION)\""
	@$(BIN)/assistant ask "$(QUESTION)" --index ./index

# The chat's end-to-end check drives the real app in tmux; install it where we can
# (root with apt), otherwise that one test is skipped and says why.
terminal-tools:
	@command -v tmux >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			(apt-get install -y -q tmux >/dev/null 2>&1 || \
			 (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q tmux >/dev/null 2>&1)) \
			|| echo "could not install tmux: the tmux chat check will be skipped"; \
		else echo "tmux not found: the tmux chat check will be skipped"; fi; }

chat: index
	$(BIN)/assistant chat --index ./index

test: $(STAMP) terminal-tools
	$(BIN)/python -m pytest -q -m "not llm"

# llama-cpp-python compiles llama.cpp the first time (about 5 minutes on 2 cores;
# pip keeps the wheel, so later installs take seconds).
# llama.cpp is compiled for a portable x86-64 (AVX2) rather than for every instruction
# the build machine reports: a native build used AMX/AVX-512 code that a virtual machine
# advertised and then trapped (invalid opcode in libggml-cpu). --no-cache-dir: a wheel
# built natively earlier and kept in pip's cache would be reused otherwise.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet --no-cache-dir \
		-c requirements.lock -e ".[all,dev,test-llm]"
	touch $(LLM_STAMP)

test-llm: $(LLM_STAMP)
	$(BIN)/python -m pytest -q -m llm

lint: $(STAMP)
	$(BIN)/ruff check assistant tests scripts bench
	$(BIN)/ruff format --check assistant tests scripts bench

format: $(STAMP)
	$(BIN)/ruff format assistant tests scripts bench
	$(BIN)/ruff check --fix assistant tests scripts bench

# Speed and quality figures (see BENCHMARKS.md); minutes, not part of the tests.
bench: $(STAMP)
	$(BIN)/python bench/oneshot.py
	$(BIN)/python bench/build.py
	$(BIN)/python bench/ui.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf index .pytest_cache .ruff_cache

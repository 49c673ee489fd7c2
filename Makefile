# 自动微分 (d2l-zh 2.5) — lessons, an nbgrader assignment and its grading tool.
# `make help` lists the targets. Every target sets up .venv/ on first use.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSIGNMENT ?= autograd
# nbgrader runs `alembic` by name, so the environment's bin/ goes first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help demo test test-quick test-unit e2e hub-proxy lab release grade feedback report check bench student-pack clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "需要 $(PYTHON)（Python 3.11）：请先安装它，或用 make PYTHON=python3 …"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	# the course's own package, so that nbgrader, Formgrader and `python -m autograde` find it from any folder
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# JupyterHub's proxy (npm's configurable-http-proxy, pinned in hub/package-lock.json) for hub/jupyterhub_config.py
# and its browser test; needs Node.js 20+ and npm. Nothing is downloaded while the tests run.
HUB_PROXY := hub/node_modules/.package-lock.json
$(HUB_PROXY): hub/package.json hub/package-lock.json
	@command -v npm >/dev/null || { echo "需要 Node.js 20 或更新的版本和 npm：JupyterHub 的代理 configurable-http-proxy 是 npm 包"; exit 1; }
	npm ci --prefix hub --no-audit --no-fund
	touch $@

hub-proxy: $(HUB_PROXY) ## install JupyterHub's proxy into hub/node_modules (npm ci --prefix hub)

demo: $(STAMP) ## release, then grade the bundled sample class and print the grades (~1 min)
	$(BIN)/python -m autograde demo $(ASSIGNMENT)

test: $(STAMP) $(HUB_PROXY) ## every test (unit, content, grading, security, e2e), as CI runs it (~15-17 min on 2 cores)
	$(BIN)/python -m pytest

test-quick: $(STAMP) ## tests/unit and tests/content: no grading run (under 1 min)
	$(BIN)/python -m pytest tests/unit tests/content

test-unit: $(STAMP) ## tests/unit: pure functions, no kernel (~10 s)
	$(BIN)/python -m pytest tests/unit

e2e: $(STAMP) $(HUB_PROXY) ## browser tests: make lab and a JupyterHub class in headless Chromium (~5 min)
	$(BIN)/python -m pytest tests/e2e

lab: $(STAMP) ## JupyterLab on localhost for a student (token on)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root)

release: $(STAMP) ## generate release/ from source/ (nbgrader generate_assignment)
	$(BIN)/python -m autograde release $(ASSIGNMENT)

grade: $(STAMP) ## autograde submitted/ and write reports/ (the class's grades)
	$(BIN)/python -m autograde grade $(ASSIGNMENT)

feedback: $(STAMP) ## feedback HTML for every graded student, in feedback/
	$(BIN)/python -m autograde feedback $(ASSIGNMENT)

report: $(STAMP) ## rewrite reports/ (grades table, pictures) from the gradebook
	$(BIN)/python -m autograde report $(ASSIGNMENT)

check: $(STAMP) ## grade the corpus of sample submissions and compare with their stated scores (~5 min)
	$(BIN)/python -m autograde check $(ASSIGNMENT) --cases tests/corpus/cases

bench: $(STAMP) ## plain nbgrader vs this tool on a synthetic class of 120, side by side (~10 min on 2 cores)
	$(BIN)/python -m autograde bench $(ASSIGNMENT)

student-pack: $(STAMP) ## dist/autograd-student.zip: lessons, release/, a student README (for an LMS or a web page)
	$(BIN)/python -m autograde student-pack $(ASSIGNMENT)

clean: ## remove what demo, grading and tests wrote (keeps .venv/ and committed files)
	rm -rf demo reports dist .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
	@echo "nbgrader's data (submitted/, autograded/, feedback/, gradebook.db) is kept: delete it by hand if you mean to."

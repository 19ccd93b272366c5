# Decorum: every entry point sets up what it needs (venv, Python packages, CDK CLI) first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MODEL_DIR ?= build/model
PROFILE ?= quick
export PYTHONUNBUFFERED := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup demo run model model-full model-cloud distillation lodo capacity test test-slow bench lint synth deploy clean

$(STAMP): requirements.txt handlers/inference/requirements.txt handlers/slack/requirements.txt package.json
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# One command: requirements.txt pins torch (the CPU build on disk), so nothing pulls a newer CUDA torch.
	$(PY) -m pip install -q -r requirements.txt
	npm install --no-audit --no-fund --silent
	touch $(STAMP)

setup: $(STAMP)

$(MODEL_DIR)/model.onnx: | $(STAMP)
	$(PY) -m model_build build --config model_build/configs/$(PROFILE).toml --out $(MODEL_DIR)

## The main job: build the quick model if none is cached, then run the whole bot offline and check it.
demo: $(STAMP) $(MODEL_DIR)/model.onnx
	$(PY) -m local demo --model-dir $(MODEL_DIR)

## The same stack left running, with a page to post messages and react by hand.
run: $(STAMP) $(MODEL_DIR)/model.onnx
	$(PY) -m local run --model-dir $(MODEL_DIR)

## Build (or rebuild) the model: `make model PROFILE=full` for the best-quality profile.
model: $(STAMP)
	$(PY) -m model_build build --config model_build/configs/$(PROFILE).toml --out $(MODEL_DIR)

model-full:
	$(MAKE) model PROFILE=full MODEL_DIR=build/model-full

## In AWS: start the CodeBuild job (BUILD_PROJECT: the DecorumModelBuild.BuildProject output); it publishes
## and registers a version, and its approval deploys it.
model-cloud: $(STAMP)
	$(PY) -c "import sys, boto3; print(boto3.client('codebuild').start_build(projectName=sys.argv[1])['build']['id'])" \
		$(BUILD_PROJECT)

## What distillation buys: the built student vs the same student on labels only, into $(MODEL_DIR)/report.md.
distillation: $(STAMP) $(MODEL_DIR)/model.onnx
	$(PY) -m model_build distillation --config model_build/configs/$(PROFILE).toml --out $(MODEL_DIR)

## Leave one domain out (one training per data set): the table goes into $(MODEL_DIR)/report.md.
lodo: $(STAMP) $(MODEL_DIR)/model.onnx
	$(PY) -m model_build lodo --config model_build/configs/$(PROFILE).toml --out $(MODEL_DIR)

## Student depth (2, 3, 4 layers) vs LODO quality, int8 latency and size, into the same report.
capacity: $(STAMP) $(MODEL_DIR)/model.onnx
	$(PY) -m model_build capacity --config model_build/configs/$(PROFILE).toml --out $(MODEL_DIR) $(CAPACITY_ARGS)

test: $(STAMP)
	$(PY) -m pytest

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

bench: $(STAMP) $(MODEL_DIR)/model.onnx
	$(PY) -m bench --model-dir $(MODEL_DIR)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

synth: $(STAMP)
	npx cdk synth --quiet

deploy: $(STAMP)
	npx cdk deploy --all

clean:
	rm -rf build cdk.out .cache

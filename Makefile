# Front door. Each target is one line over scripts/ or the `artifact` CLI; see README.md.
# `make reproduce` and `make test` bootstrap .venv themselves on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
SCALE  ?= quick
ROOTFLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: setup test reproduce smoke report lab env clean
setup:      ; bash scripts/setup.sh
test: setup ; $(PY) -m pytest tests -q
reproduce: setup ; $(PY) -m artifact.cli reproduce --scale $(SCALE)
smoke: setup ; $(PY) -m artifact.cli reproduce --scale smoke
report: setup ; $(PY) -m artifact.cli report
lab: setup  ; $(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser $(ROOTFLAG) notebooks
env: setup  ; $(PY) -m artifact.cli env
clean:      ; rm -rf results figures/*/ .pytest_cache

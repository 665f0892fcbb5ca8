#!/usr/bin/env bash
# The whole check: lint, strict types, then the test suite.
source "$(dirname "$0")/venv.sh"
ruff check .
ruff format --check .
mypy
pytest "$@"

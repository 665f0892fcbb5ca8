#!/usr/bin/env bash
# The whole check: lint, strict types, then the test suite.
source "$(dirname "$0")/venv.sh"
ruff check actorhttp tests examples benchmarks
ruff format --check actorhttp tests examples benchmarks
mypy
pytest "$@"

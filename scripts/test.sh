#!/usr/bin/env bash
# The whole check: lint, strict types, then the test suite.
source "$(dirname "$0")/venv.sh"
ruff check actorhttp tests examples
ruff format --check actorhttp tests examples
mypy
pytest "$@"

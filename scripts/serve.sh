#!/usr/bin/env bash
# Serves examples/hello.py on http://127.0.0.1:8080 (Ctrl-C stops it).
source "$(dirname "$0")/venv.sh"
exec python examples/hello.py "$@"

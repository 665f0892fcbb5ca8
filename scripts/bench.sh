#!/usr/bin/env bash
# The load and memory benchmark (needs wrk: sudo apt-get install wrk).
# Extra arguments go to benchmarks/http.py, e.g. --quick or --output benchmarks/RESULTS.md.
source "$(dirname "$0")/venv.sh"
exec python benchmarks/http.py "$@"

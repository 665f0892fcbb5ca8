#!/usr/bin/env bash
# The whole check: lint, strict types, then the test suite.
source "$(dirname "$0")/venv.sh"

# The chat example's browser test drives Debian's chromium with chromium-driver.
# Install them when missing and we can (root, apt-get); otherwise the test skips
# and says which one is missing.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing chromium and chromium-driver for the browser test..." >&2
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
            >/dev/null 2>&1; then
            echo "could not install chromium: the browser test will skip" >&2
        fi
    else
        echo "chromium or chromedriver missing (needs root and apt-get): the browser test will skip" >&2
    fi
fi

ruff check actorhttp tests examples benchmarks
ruff format --check actorhttp tests examples benchmarks
mypy
pytest "$@"

#!/usr/bin/env bash
# The whole check: lint, strict types, the built sdist and wheel, the documentation
# site, then the test suite.
source "$(dirname "$0")/venv.sh"

# System tools some tests drive: Debian's chromium and chromium-driver (the chat
# example's and HTTP/2 browser tests), wrk (the end-to-end benchmark's smoke test),
# h2load (nghttp2-client: HTTP/2 load, its smoke test) and redis-server (the Redis
# broker's tests). Install the missing ones when we can (root, apt-get); otherwise
# those tests skip and say why.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]} for the tests that need them..." >&2
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
            >/dev/null 2>&1; then
            echo "could not install ${missing[*]}: the tests that need them will skip" >&2
        fi
    else
        echo "${missing[*]} missing (installing needs root and apt-get): those tests will skip" >&2
    fi
fi

ruff check actorhttp tests examples benchmarks scripts
ruff format --check actorhttp tests examples benchmarks scripts
mypy
python scripts/check_dist.py   # builds the sdist and wheel, twine-checks them, looks inside
# The documentation site (docs/, mkdocs.yml), warnings as errors; no network needed.
docs_site=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$docs_site"
rm -rf "$docs_site"
pytest "$@"

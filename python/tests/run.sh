#!/usr/bin/env bash
# The Python package's tests, as CI and the README run them: builds the package into a
# virtual environment under target/ with `pip install ./python` (maturin compiles the
# extension against the engine's release build in target/), then runs pytest, whose tests
# compare the package with the CLI binary. Needs CPython >= 3.9 with pip; on Debian, as
# root, it installs python3-venv when `python3 -m venv` is missing. Exits non-zero when a
# test fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/python-venv
if [ ! -x "$venv/bin/python" ] && ! python3 -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-venv python3-pip >/dev/null
  fi
  python3 -m venv "$venv"
fi

# The CLI the tests compare with (nothing to do after `cargo test --release`).
cargo build --release --bin starskope
"$venv/bin/python" -m pip install -q pytest scikit-learn distributed ./python
# From the repository root: python/ itself must not shadow the installed package.
"$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests

#!/usr/bin/env bash
# Sets up the virtual environment, initialises the SQLite database with demo data and serves the product.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
.venv/bin/bpm-livechat init
.venv/bin/bpm-livechat demo
exec .venv/bin/bpm-livechat serve --host 127.0.0.1 --port 5000

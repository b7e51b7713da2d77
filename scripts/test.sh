#!/bin/sh
# Install what the tests need (SIPp, baresip, sox, espeak-ng, Chromium for the admin page, Python
# test extras) and run them all.
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh "sipp:sip-tester baresip:baresip-core sox:sox espeak-ng:espeak-ng chromium:chromium" "[test]"
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"

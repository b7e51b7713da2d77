#!/bin/sh
# Install the service into .venv and start it on its embedded demo office (127.0.0.1:5060).
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh "python3:python3" ""
exec .venv/bin/b2bua serve "$@"

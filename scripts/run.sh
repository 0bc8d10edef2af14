#!/usr/bin/env bash
# Set up and run Parley with demo data on the embedded SQLite default: http://127.0.0.1:8080
# (PARLEY_HOST and PARLEY_PORT choose the interface and port; PARLEY_PUBLIC_URL the address printed in links).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/web-libraries.sh  # e2ee: the web client's crypto library, from npm

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
# Development codes: logged and shown in the web page's developer panel instead of texted. `parley serve`
# refuses them on an interface beyond loopback (PARLEY_HOST=0.0.0.0) unless PARLEY_DEV_ALLOW_REMOTE_CODES=1:
# anyone who can read them can sign in as anyone.
export PARLEY_DEV_SHOW_CODES=${PARLEY_DEV_SHOW_CODES:-true}
# The demo's webhook receivers run on this machine: let callbacks reach loopback (refused by default).
export PARLEY_WEBHOOKS__ALLOWED_NETWORKS=${PARLEY_WEBHOOKS__ALLOWED_NETWORKS:-'["127.0.0.0/8", "::1/128"]'}
host=${PARLEY_HOST:-127.0.0.1}
port=${PARLEY_PORT:-8080}
# The address people reach the server at: click-to-chat links and the demo's curl line are printed with it.
shown_host=$host
case "$host" in 0.0.0.0 | ::) shown_host=127.0.0.1 ;; esac
export PARLEY_PUBLIC_URL=${PARLEY_PUBLIC_URL:-http://$shown_host:$port}
.venv/bin/parley db upgrade
.venv/bin/parley demo
echo "Web client:  $PARLEY_PUBLIC_URL/   (sign in with a demo phone; the code appears in the developer panel)"
echo "Team inbox:  $PARLEY_PUBLIC_URL/inbox   Business console: $PARLEY_PUBLIC_URL/inbox/console"
echo "API docs:    $PARLEY_PUBLIC_URL/docs   OpenAPI: $PARLEY_PUBLIC_URL/openapi.json"
exec .venv/bin/parley serve --host "$host" --port "$port"

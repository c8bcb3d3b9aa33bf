#!/usr/bin/env bash
# The keg-auth peer: keg-auth 0.9.1 from PyPI, with its test app (keg_auth_ta),
# in a virtual environment at target/keg-auth/venv (or $KEG_AUTH_VENV).
# Prints the venv's python, which the takeover tests (tests/keg_auth_peer.rs)
# read from KEGAUTH_KEG_AUTH_PYTHON.
#
#   tests/keg-auth/setup.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${KEG_AUTH_VENV:-$here/../../target/keg-auth/venv}
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    --no-deps --require-virtualenv -r "$here/requirements.txt" >&2
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi
# keg-auth imports and its test app builds.
(cd "$here" && "$venv/bin/python" -c 'import ka_app, keg_auth; ka_app.make("sqlite://")') >&2
echo "$venv/bin/python"

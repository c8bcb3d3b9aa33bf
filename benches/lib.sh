# What benches/peer.sh and benches/floor.sh share: a work folder removed on
# exit, one server at a time ($SERVER, started by the script), waiting for it
# to answer, and the login form's CSRF token. Source it after setting BASE
# and NAME (the script's name, for messages).

WORK=$(mktemp -d)
SERVER=""
stop_server() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; fi; }
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

until_up() { # path
  for _ in $(seq 1 150); do curl -sf -o /dev/null "$BASE$1" && return 0; sleep 0.1; done
  echo "$NAME: the server did not come up" >&2; exit 1
}

# The login form's CSRF token; its cookie goes into the jar.
login_token() { # cookie jar
  curl -s -c "$1" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1
}

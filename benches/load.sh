#!/usr/bin/env bash
# Load test of the demo, built in release mode, with wrk on loopback:
#   GET /login; /public (unprotected) and /secret1 (protected), both sent the
#   same session cookie, with the session cache off, then on; /api/me with a
#   JWT; POST /login with the right password; and /secret1's latency while 20
#   clients (another user) POST /login.
# On SQLite and on PostgreSQL (the demo built with --features demo-postgres,
# on a database kegauth_bench that this script drops and creates).
#
#   benches/load.sh        # DURATION=10s CONNECTIONS=16 CACHES="0 5" BACKENDS="sqlite postgres"
#   ONLY=storm CACHES=5 BACKENDS=sqlite benches/load.sh   # one measurement (a substring of its name)
#   PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres   # where kegauth_bench is made
#   HASHER="hasher_threads=1,hasher_nice=0"   # more [kegauth] settings for the server
#   REPEAT=3               # run the /public and /secret1 pair 3 times, alternated
#
# Needs wrk (Debian: apt-get install wrk), curl, and psql for PostgreSQL.
# Prints one line per run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18123}
BASE="http://127.0.0.1:${PORT}"
PASSWORD="staple-horse-battery-correct"

WORK=$(mktemp -d)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# The demo for one backend, built in release mode and copied out of target/.
build_demo() { # backend name, cargo arguments
  local backend=$1; shift
  cargo build --release --example demo "$@" >&2
  cp target/release/examples/demo "$WORK/demo-$backend"
}

# wrk's summary: requests/s and the latency percentiles.
summary() {
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
       END {printf "%10s req/s  p50 %8s  p99 %8s%s\n", rps, p50, p99, (bad ? "  non-2xx " bad : "")}'
}

bench() { # name, then wrk arguments
  local name=$1; shift
  if [ -n "${ONLY:-}" ] && [[ "$name" != *"$ONLY"* ]]; then return; fi
  printf '%-34s' "$name"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" 2>/dev/null | summary
}

run_backend() { # backend name, database URL, session cache seconds
  local backend=$1 url=$2 cache=$3
  local BIN="$WORK/demo-$backend"
  export ROCKET_CONFIG="$PWD/Rocket.toml"
  export ROCKET_DATABASES="{main={url=\"$url\"}}"
  export ROCKET_SECRET_KEY="$(head -c 32 /dev/urandom | base64)"
  export ROCKET_PORT="$PORT" ROCKET_LOG_LEVEL=critical ROCKET_WORKERS=4
  # Attempt limiting off: every connection comes from 127.0.0.1, and the connections wrk
  # cuts at the end of a run count as failures, so a lockout would make logins look cheap.
  export ROCKET_KEGAUTH="{mail={dir=\"$WORK/mail\"},cookie_secure=false,attempt_limit_enabled=false,session_cache_secs=$cache${HASHER:+,$HASHER}}"
  # bench@example.com browses; storm@example.com is the one 20 clients log in as.
  for who in bench storm; do
    (cd "$WORK" && "$BIN" auth create-user "$who@example.com" --no-mail >/dev/null 2>&1 || true)
    (cd "$WORK" && printf '%s\n%s\n' "$PASSWORD" "$PASSWORD" | "$BIN" auth set-password "$who@example.com" >/dev/null)
  done
  (cd "$WORK" && exec "$BIN" >/dev/null 2>&1) &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/public" >/dev/null && break; sleep 0.1; done

  # A session: the login form's CSRF token, then the login.
  local jar="$WORK/jar"
  rm -f "$jar"
  local csrf
  csrf=$(curl -s -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
  local form="login_id=bench%40example.com&password=${PASSWORD}&csrf_token=${csrf}"
  local pre_login
  pre_login=$(awk '$6 == "kegauth" {print $7}' "$jar")
  # A fresh login before each run: wrk sends the same cookie for the whole
  # run and never takes the one the app sends back, so an old cookie would
  # have its last-seen time rewritten on every request (a browser's is
  # rewritten once a minute at most).
  local cookie
  fresh_session() {
    rm -f "$jar.s"
    curl -s -c "$jar.s" "$BASE/login" >"$WORK/login.html"
    local token
    token=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$WORK/login.html" | head -n1)
    curl -s -b "$jar.s" -c "$jar.s" -o /dev/null \
      -d "login_id=bench%40example.com&password=${PASSWORD}&csrf_token=${token}" "$BASE/login"
    cookie=$(awk '$6 == "kegauth" {print $7}' "$jar.s")
  }
  curl -s -b "$jar" -c "$jar" -o /dev/null -d "$form" "$BASE/login"
  local jwt
  jwt=$(curl -s -b "$jar" -X POST "$BASE/api/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  [ -n "$jwt" ] || { echo "could not get a JWT" >&2; exit 1; }

  # POST /login: the pre-login cookie carries the CSRF token the form sends.
  # Another user than the one browsing: a login rewrites its own user's row
  # (last login), which drops that user's cached sessions, so a storm on the
  # browsing user would measure that user's own logins, not other people's.
  cat > "$WORK/login.lua" <<LUA
wrk.method = "POST"
wrk.body = "${form/bench%40/storm%40}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "kegauth=$pre_login"
LUA

  echo "== $backend, session_cache_secs = $cache, $CONNECTIONS connections, $DURATION each"
  bench "GET /login" "$BASE/login"
  # Alternated REPEAT times: the pair to compare, under the same conditions.
  for _ in $(seq 1 "${REPEAT:-1}"); do
    fresh_session
    bench "GET /public (unprotected)" -H "Cookie: kegauth=$cookie" "$BASE/public"
    bench "GET /secret1 (session)" -H "Cookie: kegauth=$cookie" "$BASE/secret1"
  done
  bench "GET /api/me (JWT)" -H "Authorization: Bearer $jwt" "$BASE/api/me"
  bench "POST /login (argon2id)" -s "$WORK/login.lua" "$BASE/login"
  # /secret1's latency while 20 clients log in.
  local storm_name="GET /secret1 during a login storm"
  if [ -n "${ONLY:-}" ] && [[ "$storm_name" != *"$ONLY"* ]]; then
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; return
  fi
  wrk -t1 -c20 -d"$DURATION" -s "$WORK/login.lua" "$BASE/login" >/dev/null &
  local storm=$!
  sleep 1
  fresh_session
  bench "$storm_name" -H "Cookie: kegauth=$cookie" "$BASE/secret1"
  wait "$storm" || true

  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
for backend in ${BACKENDS:-sqlite postgres}; do
  case $backend in
    sqlite)
      build_demo sqlite
      url="sqlite://$WORK/bench.sqlite?mode=rwc" ;;
    postgres)
      build_demo postgres --features demo-postgres
      psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS kegauth_bench" -c "CREATE DATABASE kegauth_bench" >&2
      url="${PG_ADMIN_URL%/*}/kegauth_bench" ;;
    *) echo "unknown backend $backend" >&2; exit 1 ;;
  esac
  for cache in ${CACHES:-0 5}; do
    run_backend "$backend" "$url" "$cache"
  done
done

#!/usr/bin/env bash
# kegauth against keg-auth itself, side by side on one machine: keg-auth 0.9.1's
# own test app (keg_auth_ta) under gunicorn with 2 sync workers, then the
# kegauth demo built in release mode, each on its own copy of one SQLite
# database that keg-auth made (tests/keg-auth/make_db.py), measured with wrk on
# the same requests:
#   GET /login; a protected page with a session cookie (/secret1 on both); a
#   protected page with a JWT (keg-auth: /jwt-required, kegauth: /api/me);
#   POST /login with the right password for a bcrypt cost-12 user (kegauth
#   with password_scheme = "bcrypt", so the hash stays bcrypt) and, on
#   kegauth, an argon2id user.
# kegauth's read rows are run with the session cache on (the default, 1 s)
# and off. Attempt limiting is off on both sides (every request comes from
# 127.0.0.1), and keg-auth's CSRF check on the login form (wrk cannot carry
# a fresh token per request; kegauth's is sent with its cookie).
#
#   benches/peer.sh          # DURATION=10s CONNECTIONS=16
#
# Needs wrk (apt-get install wrk), curl, python3 (tests/keg-auth/setup.sh
# installs keg-auth and gunicorn into target/keg-auth/venv).
# Prints each run, then a table: requests/s and p99 per row and side, and
# kegauth's requests/s over keg-auth's.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18124}
BASE="http://127.0.0.1:${PORT}"
PY=$(tests/keg-auth/setup.sh)
VENV=$(dirname "$(dirname "$PY")")

NAME=peer
. benches/lib.sh

echo "peer: building the demo and Rocket alone (release)" >&2
cargo build --release --example demo --example rocket-floor >&2
cp target/release/examples/demo target/release/examples/rocket-floor "$WORK/"

echo "peer: keg-auth makes the database" >&2
"$PY" tests/keg-auth/make_db.py "sqlite:///$WORK/keg-auth.sqlite" "$WORK/expected.json" >&2
cp "$WORK/keg-auth.sqlite" "$WORK/kegauth.sqlite"
SECRET=$(head -c 32 /dev/urandom | base64)
# dan browses; bob logs in (bcrypt, cost 12); eve logs in on kegauth once
# her pbkdf2 hash has been rehashed to argon2id.
BROWSE="login_id=dan%40example.com&password=dan-pass-1"
BCRYPT_LOGIN="login_id=bob%40example.com&password=bob-pass-1"
ARGON2_LOGIN="login_id=eve%40example.com&password=eve-pass-1"

# wrk's requests/s and p99 (microseconds) of one run, kept as results/<key>.
mkdir -p "$WORK/results"
measure() { # key, label, then wrk arguments
  local key=$1 label=$2; shift 2
  printf '%-44s' "$label"
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" 2>/dev/null | awk -v out="$WORK/results/$key" '
    function us(t) { return t ~ /us$/ ? t + 0 : t ~ /ms$/ ? t * 1000 : t * 1000000 }
    /Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
    END {printf "%10s req/s  p99 %9s%s\n", rps, p99, (bad ? "  non-2xx/3xx " bad : "")
         printf "%s %s\n", rps, us(p99) > out}'
}

post_lua() { # file, form body, extra header line
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.body = "$2"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
$3
LUA
}

# --- keg-auth: gunicorn, 2 sync workers ---
echo "== keg-auth 0.9.1 (keg_auth_ta, gunicorn 2 sync workers), SQLite, $CONNECTIONS connections, $DURATION each"
KEG_AUTH_PEER_DB_URL="sqlite:///$WORK/keg-auth.sqlite" KEG_AUTH_PEER_SECRET="$SECRET" \
  KEG_AUTH_PEER_CSRF=0 KEG_AUTH_PEER_ATTEMPTS=0 \
  "$VENV/bin/gunicorn" --workers 2 --worker-class sync --bind "127.0.0.1:$PORT" \
  --chdir tests/keg-auth --log-level warning ka_app:application >"$WORK/gunicorn.log" 2>&1 &
SERVER=$!
until_up /login
curl -s -c "$WORK/ka.jar" -o /dev/null -d "$BROWSE" "$BASE/login"
cookie=$(awk '$6 == "session" {print $7}' "$WORK/ka.jar")
[ -n "$cookie" ] || { echo "peer: keg-auth did not log dan in" >&2; cat "$WORK/gunicorn.log" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: session=$cookie" "$BASE/secret1")" = 200 ] \
  || { echo "peer: keg-auth's session does not open /secret1" >&2; exit 1; }
jwt=$(KEG_AUTH_PEER_SECRET="$SECRET" "$PY" tests/keg-auth/make_jwt.py "sqlite:///$WORK/keg-auth.sqlite" dan@example.com 2>/dev/null)
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $jwt" "$BASE/jwt-required")" = 200 ] \
  || { echo "peer: keg-auth's JWT does not open /jwt-required" >&2; exit 1; }
post_lua "$WORK/ka-login.lua" "$BCRYPT_LOGIN" ""
measure ka_login_page "GET /login" "$BASE/login"
measure ka_session "GET /secret1 (session)" -H "Cookie: session=$cookie" "$BASE/secret1"
measure ka_jwt "GET /jwt-required (JWT)" -H "Authorization: Bearer $jwt" "$BASE/jwt-required"
measure ka_bcrypt "POST /login (bcrypt 12)" -s "$WORK/ka-login.lua" "$BASE/login"
stop_server

# --- kegauth: the demo, release ---
start_demo() { # more [kegauth] settings
  export ROCKET_CONFIG="$PWD/Rocket.toml"
  export ROCKET_DATABASES="{main={url=\"sqlite://$WORK/kegauth.sqlite\"}}"
  export ROCKET_SECRET_KEY="$SECRET"
  export ROCKET_PORT="$PORT" ROCKET_LOG_LEVEL=critical
  export ROCKET_KEGAUTH="{mail={dir=\"$WORK/mail\"},cookie_secure=false,attempt_limit_enabled=false$1}"
  (cd "$WORK" && exec ./demo >"$WORK/demo.log" 2>&1) &
  SERVER=$!
  until_up /login
}

# A session (the form's CSRF token with its cookie, then the login): sets $cookie.
demo_login() { # form body
  rm -f "$WORK/kg.jar"
  local token
  token=$(login_token "$WORK/kg.jar")
  curl -s -b "$WORK/kg.jar" -c "$WORK/kg.jar" -o /dev/null -d "$1&csrf_token=$token" "$BASE/login"
  cookie=$(awk '$6 == "kegauth" {print $7}' "$WORK/kg.jar")
}

# A POST /login script: the pre-login cookie carries the CSRF token the form sends.
demo_login_lua() { # file, form body
  rm -f "$WORK/pre.jar"
  local token pre
  token=$(login_token "$WORK/pre.jar")
  pre=$(awk '$6 == "kegauth" {print $7}' "$WORK/pre.jar")
  post_lua "$1" "$2&csrf_token=$token" "wrk.headers[\"Cookie\"] = \"kegauth=$pre\""
}

echo "== kegauth (the demo, release), SQLite, password_scheme = \"bcrypt\""
start_demo ',password_scheme="bcrypt"'
demo_login_lua "$WORK/kg-bcrypt.lua" "$BCRYPT_LOGIN"
measure kg_bcrypt "POST /login (bcrypt 12)" -s "$WORK/kg-bcrypt.lua" "$BASE/login"
stop_server
# The default is one hashing thread per core but one (here, likely 1), under
# SCHED_IDLE; gunicorn's two workers hash two at a time.
start_demo ',password_scheme="bcrypt",hasher_threads=2'
demo_login_lua "$WORK/kg-bcrypt.lua" "$BCRYPT_LOGIN"
measure kg_bcrypt_2 "POST /login (bcrypt 12, hasher_threads=2)" -s "$WORK/kg-bcrypt.lua" "$BASE/login"
stop_server
hash=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT substr(password, 1, 7) FROM users WHERE email = 'bob@example.com'\").fetchone()[0].decode())" "$WORK/kegauth.sqlite")
[ "$hash" = '$2b$12$' ] || { echo "peer: bob's hash is no longer bcrypt 12: $hash" >&2; exit 1; }

for cache in 1 0; do
  echo "== kegauth (the demo, release), SQLite, session_cache_secs = $cache"
  start_demo ",session_cache_secs=$cache"
  demo_login "$BROWSE"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: kegauth=$cookie" "$BASE/secret1")" = 200 ] \
    || { echo "peer: kegauth's session does not open /secret1" >&2; exit 1; }
  jwt=$(curl -s -b "$WORK/kg.jar" -X POST "$BASE/api/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  [ -n "$jwt" ] || { echo "peer: no JWT from /api/token" >&2; exit 1; }
  measure "kg_login_page_$cache" "GET /login" "$BASE/login"
  measure "kg_session_$cache" "GET /secret1 (session)" -H "Cookie: kegauth=$cookie" "$BASE/secret1"
  measure "kg_jwt_$cache" "GET /api/me (JWT)" -H "Authorization: Bearer $jwt" "$BASE/api/me"
  if [ "$cache" = 1 ]; then
    # eve's pbkdf2 hash becomes argon2id at her first login.
    demo_login "$ARGON2_LOGIN"
    demo_login_lua "$WORK/kg-argon2.lua" "$ARGON2_LOGIN"
    measure kg_argon2 "POST /login (argon2id)" -s "$WORK/kg-argon2.lua" "$BASE/login"
  fi
  stop_server
done

# --- Rocket alone: the ceiling of this machine, wrk and the framework ---
echo "== Rocket alone (benches/rocket_floor.rs: a constant text, no fairing, no cookie), release"
ROCKET_SECRET_KEY="$SECRET" ROCKET_PORT="$PORT" ROCKET_LOG_LEVEL=critical "$WORK/rocket-floor" >"$WORK/floor.log" 2>&1 &
SERVER=$!
until_up /floor
measure floor "GET /floor (no kegauth)" "$BASE/floor"
stop_server

# --- the table ---
rps() { awk '{print $1}' "$WORK/results/$1"; }
p99() { awk '{printf "%.1f ms", $2 / 1000}' "$WORK/results/$1"; }
row() { # label, keg-auth key, kegauth key
  awk -v label="$1" -v ka="$(rps "$2")" -v kg="$(rps "$3")" -v kap="$(p99 "$2")" -v kgp="$(p99 "$3")" \
    'BEGIN {printf "| %-44s | %8.0f | %10s | %8.0f | %10s | %7.1fx |\n", label, ka, kap, kg, kgp, (ka > 0 ? kg / ka : 0)}'
}
echo
printf '| %-44s | %8s | %10s | %8s | %10s | %8s |\n' "request (kegauth's setting)" "keg-auth" "p99" "kegauth" "p99" "ratio"
printf '|%s|%s:|%s:|%s:|%s:|%s:|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..9})" \
  "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..9})"
for cache in 1 0; do
  label="session cache on"; [ "$cache" = 0 ] && label="session cache off"
  row "GET /login ($label)" ka_login_page "kg_login_page_$cache"
  row "protected page, session ($label)" ka_session "kg_session_$cache"
  row "protected page, JWT ($label)" ka_jwt "kg_jwt_$cache"
done
row "POST /login, bcrypt 12" ka_bcrypt kg_bcrypt
row "POST /login, bcrypt 12 (hasher_threads=2)" ka_bcrypt kg_bcrypt_2
row "POST /login, argon2id (keg-auth: bcrypt 12)" ka_bcrypt kg_argon2
echo
awk -v floor="$(rps floor)" -v page="$(rps ka_session)" -v login="$(rps ka_login_page)" 'BEGIN {
  printf "Rocket alone (GET /floor, a constant text, nothing of kegauth): %.0f req/s, %.1fx keg-auth'"'"'s protected page.\n", floor, (page > 0 ? floor / page : 0)
  printf "50x keg-auth would be %.0f req/s for GET /login and %.0f req/s for the protected page.\n", 50 * login, 50 * page }'
echo "requests/s per side and kegauth/keg-auth; target: every GET row at least 50x keg-auth"

#!/usr/bin/env bash
# Every page as a share of Rocket alone, measured in one run (issue 51): the
# demo built in release mode on a SQLite database of its own (20 users), and
# Rocket alone (benches/rocket_floor.rs: a constant text, no fairing), each
# measured with wrk on this machine one after the other, with the server's
# CPU per request read from /proc/<pid>/stat during each run.
#
#   benches/floor.sh         # DURATION=10s (in seconds) CONNECTIONS=4 THREADS=1 DEMO= TEMPLATES=
#
# Rows: GET /login, GET /forgot-password, the 403 page (a user without the
# permission on /secret2), the users grid (21 rows), the demo's /public and
# /secret2 (pages in the demo's layout through the Layout guard), /api/me
# with a JWT, an API token and a session cookie, and POST /login against the
# raw argon2id rate (benches/argon2_rate.rs). Prints each run, then a table: requests/s,
# the share of Rocket alone, and the server's CPU in microseconds per request
# (user + system time of the server process over the requests wrk counted).
# Needs wrk (apt-get install wrk), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-4}
THREADS=${THREADS:-1}
PORT=${PORT:-18125}
BASE="http://127.0.0.1:${PORT}"
TICK=$(getconf CLK_TCK)

NAME=floor
. benches/lib.sh
. benches/wrk_login.sh

echo "floor: building the demo and Rocket alone (release)" >&2
cargo build --release --example demo --example rocket-floor --example argon2-rate >&2
cp target/release/examples/demo target/release/examples/rocket-floor target/release/examples/argon2-rate "$WORK/"
# DEMO=<a demo binary built in release mode elsewhere> measures that one
# instead (an earlier commit's, for a before-and-after in one sitting).
# TEMPLATES=<folder> gives it that commit's templates/ too.
if [ -n "${DEMO:-}" ]; then cp "$DEMO" "$WORK/demo"; fi
if [ -n "${TEMPLATES:-}" ]; then export ROCKET_TEMPLATE_DIR="$TEMPLATES"; fi
mkdir -p "$WORK/results"

SECRET=$(head -c 32 /dev/urandom | base64)
export ROCKET_CONFIG="$PWD/Rocket.toml"
export ROCKET_DATABASES="{main={url=\"sqlite://$WORK/floor.sqlite?mode=rwc\"}}"
export ROCKET_SECRET_KEY="$SECRET"
export ROCKET_PORT="$PORT" ROCKET_LOG_LEVEL=critical
export ROCKET_KEGAUTH="{mail={dir=\"$WORK/mail\"},cookie_secure=false,attempt_limit_enabled=false}"
ADMIN=admin@example.com
PLAIN=plain@example.com
PASSWORD="a long floor benchmark password"
auth() { (cd "$WORK" && ./demo auth "$@"); }

echo "floor: the database (an admin, a user without permissions, 19 more)" >&2
auth create-user "$ADMIN" --as-superuser --no-mail >/dev/null
auth create-user "$PLAIN" --no-mail >/dev/null
for who in "$ADMIN" "$PLAIN"; do printf '%s\n%s\n' "$PASSWORD" "$PASSWORD" | auth set-password "$who" >/dev/null; done
for i in $(seq 1 19); do auth create-user "user$i@example.com" --no-mail >/dev/null; done

# The server's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }

# wrk's requests/s and the server's CPU per request (µs), kept as results/<key>.
measure() { # key, label, then wrk arguments
  local key=$1 label=$2 before after
  shift 2
  printf '%-46s' "$label"
  before=$(cpu_ticks)
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$@" 2>/dev/null > "$WORK/wrk.out"
  after=$(cpu_ticks)
  awk -v out="$WORK/results/$key" -v ticks=$((after - before)) -v hz="$TICK" '
    /Requests\/sec/ {rps=$2} /requests in/ {n=$1} /Non-2xx/ {bad=$NF}
    END {cpu = (n > 0 ? ticks * 1000000 / hz / n : 0)
         printf "%10s req/s  %7.0f us CPU/request%s\n", rps, cpu, (bad ? "  non-2xx/3xx " bad : "")
         printf "%s %f %s\n", rps, cpu, (bad ? bad : 0) > out}' "$WORK/wrk.out"
}

# A session for a user: the form's CSRF token with its cookie, then the login.
session_of() { # login id, cookie jar
  local token
  token=$(login_token "$2")
  curl -s -b "$2" -c "$2" -o /dev/null --data-urlencode "login_id=$1" --data-urlencode "password=$PASSWORD" \
    --data-urlencode "csrf_token=$token" "$BASE/login"
  awk '$6 == "kegauth" {print $7}' "$2"
}

status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

echo "== the demo (release), SQLite, default settings; $THREADS wrk thread(s), $CONNECTIONS connections, $DURATION each"
(cd "$WORK" && exec ./demo >"$WORK/demo.log" 2>&1) &
SERVER=$!
until_up /login
admin=$(session_of "$ADMIN" "$WORK/admin.jar")
plain=$(session_of "$PLAIN" "$WORK/plain.jar")
jwt=$(curl -s -b "$WORK/admin.jar" -X POST "$BASE/api/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
token=$(curl -s -b "$WORK/admin.jar" -X POST "$BASE/api/api-token" | sed -n 's/.*"value":"\([^"]*\)".*/\1/p')
html=(-H "Accept: text/html")
check() { # expected status, then curl arguments
  local want=$1 got
  shift
  got=$(status_of "$@")
  [ "$got" = "$want" ] || { echo "floor: $* answered $got, not $want" >&2; exit 1; }
}
check 200 -H "Cookie: kegauth=$admin" "$BASE/users"
check 403 "${html[@]}" -H "Cookie: kegauth=$plain" "$BASE/secret2"
check 200 -H "Authorization: Bearer $jwt" "$BASE/api/me"
check 200 -H "X-Auth-Token: $token" "$BASE/api/me"
rows=$(curl -s -H "Cookie: kegauth=$admin" "$BASE/users" | grep -c '<tr data-id=')
[ "$rows" -ge 20 ] || { echo "floor: the users grid has $rows rows" >&2; exit 1; }

measure login "GET /login" "$BASE/login"
measure forgot "GET /forgot-password" "$BASE/forgot-password"
# wrk counts the 403 as a non-2xx answer: that is the page measured here.
measure forbidden "GET /secret2 without the permission (403)" "${html[@]}" -H "Cookie: kegauth=$plain" "$BASE/secret2"
measure users "GET /users ($rows rows)" -H "Cookie: kegauth=$admin" "$BASE/users"
measure public "GET /public (the layout, no requirement)" "$BASE/public"
measure secret2 "GET /secret2 (session, the layout)" -H "Cookie: kegauth=$admin" "$BASE/secret2"
measure jwt "GET /api/me (JWT)" -H "Authorization: Bearer $jwt" "$BASE/api/me"
measure apitoken "GET /api/me (API token)" -H "X-Auth-Token: $token" "$BASE/api/me"
measure sessionjson "GET /api/me (session cookie)" -H "Cookie: kegauth=$admin" "$BASE/api/me"

# POST /login: one browser's pre-login cookie and its form token, sent again
# and again; each request checks the admin's argon2id password and logs in.
token=$(login_token "$WORK/login.jar")
prelogin=$(awk '$6 == "kegauth" {print $7}' "$WORK/login.jar")
form=$(python3 -c 'import sys, urllib.parse as u; print(u.urlencode({"login_id": sys.argv[1], "password": sys.argv[2], "csrf_token": sys.argv[3]}))' \
  "$ADMIN" "$PASSWORD" "$token")
where=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "Cookie: kegauth=$prelogin" \
  -H "Content-Type: application/x-www-form-urlencoded" --data "$form" "$BASE/login")
case "$where" in 303\ *login*|303\ ) echo "floor: the benchmark login failed ($where)" >&2; exit 1;; 303\ *) ;; *) echo "floor: POST /login answered $where" >&2; exit 1;; esac
login_lua "$WORK/login.lua" "$form" "$prelogin"
measure loginpost "POST /login (argon2id)" -s "$WORK/login.lua" "$BASE/login"
stop_server

# The raw argon2id rate (benches/argon2_rate.rs), kegauth's parameters: on as
# many threads as kegauth hashes on (one per core but one), then on every core.
CORES=$(nproc)
HASHERS=$(( CORES > 1 ? CORES - 1 : 1 ))
SECONDS_EACH=${DURATION%s}
echo "== raw argon2id verifications, kegauth's parameters"
for n in "$HASHERS" "$CORES"; do
  printf '%-46s' "argon2id alone, $n thread(s)"
  rate=$("$WORK/argon2-rate" "$n" "$SECONDS_EACH")
  printf '%10s verifications/s\n' "$rate"
  echo "$rate 0 0" > "$WORK/results/argon2_$n"
done

echo "== Rocket alone (benches/rocket_floor.rs: a constant text, no fairing, no cookie), release"
"$WORK/rocket-floor" >"$WORK/floor.log" 2>&1 &
SERVER=$!
until_up /floor
measure floor "GET /floor (Rocket alone)" "$BASE/floor"
stop_server

row() { # key, label, target share (%)
  awk -v label="$2" -v target="$3" -v floor="$(awk '{print $1}' "$WORK/results/floor")" '
    {share = (floor > 0 ? 100 * $1 / floor : 0)
     printf "| %-42s | %8.0f | %5.0f%% | %6s | %5.0f |\n", label, $1, share, (target ? target "%" : "-"), $2}' "$WORK/results/$1"
}
echo
printf '| %-42s | %8s | %6s | %6s | %5s |\n' request "req/s" "share" target "CPU µs"
printf '|%s|%s:|%s:|%s:|%s:|\n' "$(printf -- '-%.0s' {1..44})" "$(printf -- '-%.0s' {1..10})" \
  "$(printf -- '-%.0s' {1..8})" "$(printf -- '-%.0s' {1..8})" "$(printf -- '-%.0s' {1..7})"
row floor "Rocket alone, a constant text" 0
row jwt "/api/me, JWT" 85
row apitoken "/api/me, API token" 85
row login "GET /login" 70
row forgot "GET /forgot-password" 70
row forbidden "the 403 page" 70
row public "/public, the layout, no requirement" 70
row secret2 "/secret2, session, the layout" 70
row sessionjson "/api/me, session cookie" 85
row users "the users grid ($rows rows)" 40
echo
echo "share: requests/s over Rocket alone's in this run; CPU µs: the server's user + system time per request"
echo
# Logins against argon2id alone: the login's share of the raw rate.
for n in "$HASHERS" "$CORES"; do
  awk -v n="$n" -v raw="$(awk '{print $1}' "$WORK/results/argon2_$n")" '
    {printf "POST /login: %.1f logins/s = %.0f%% of argon2id alone on %d thread(s) (%.1f/s)\n", $1, (raw > 0 ? 100 * $1 / raw : 0), n, raw}' \
    "$WORK/results/loginpost"
done
echo "(kegauth hashes on $HASHERS thread(s) here: one per core but one, so that logins leave a core to the pages)"

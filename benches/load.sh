#!/usr/bin/env bash
# Load test of the demo, built in release mode, with wrk on loopback:
#   GET /login; /public (unprotected) and /secret1 (protected), the same page
#   sent the same session cookie, with the session cache off, then on; /api/me
#   with a JWT; POST /login with the right password; and /secret1's latency
#   while 20 clients (another user) POST /login.
# On SQLite and on PostgreSQL (the demo built with --features demo-postgres,
# on a database kegauth_bench that this script drops and creates).
#
# Throughput is measured at saturation (every connection sends its next
# request as soon as the last is answered). Latency is measured twice, idle
# and during the storm: at saturation, where p99 is mostly queueing and any
# other work (the storm's own requests, wrk) lengthens it; and paced, each
# connection waiting PACE_MS between requests like a browsing user, which
# keeps the server below capacity: that one shows whether logins starve
# other requests.
#
#   benches/load.sh        # DURATION=10s (in seconds) CONNECTIONS=16 CACHES="0 1" BACKENDS="sqlite postgres"
#   ONLY=storm CACHES=1 BACKENDS=sqlite benches/load.sh   # one measurement (a substring of its name)
#   PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres   # where kegauth_bench is made
#   HASHER="hasher_threads=1,hasher_nice=0"   # more [kegauth] settings for the server
#   REPEAT=3               # the /public and /secret1 pair, and each idle and storm pair, alternated
#                          # (default 3; the median ratio is printed)
#   PACE_MS=1              # the paced connections' wait between requests
#
# Needs wrk (Debian: apt-get install wrk), curl, and psql for PostgreSQL.
# Prints one line per run, and the ratios the targets are about; after each
# latency run, the machine's busy CPU and the hashing threads' CPU seconds
# by lane (idle: SCHED_IDLE; normal: the fallback when those are starved).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/wrk_login.sh
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

# wrk's summary: requests/s and the latency percentiles; the last run's
# requests/s and p99 (in microseconds) are kept in $WORK/last.
summary() {
  awk -v last="$WORK/last" '
    function us(t) { return t ~ /us$/ ? t + 0 : t ~ /ms$/ ? t * 1000 : t * 1000000 }
    /Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
    END {printf "%10s req/s  p50 %8s  p99 %8s%s\n", rps, p50, p99, (bad ? "  non-2xx " bad : "")
         printf "%s %s\n", rps, us(p99) > last}'
}

measure() { # name, then wrk arguments
  printf '%-36s' "$1"; shift
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" 2>/dev/null | summary
}

# Whether ONLY (a substring of a measurement's name) lets this one run.
wanted() { [ -z "${ONLY:-}" ] || [[ "$1" == *"$ONLY"* ]]; }

bench() { # name, then wrk arguments; fails (measuring nothing) when ONLY leaves it out
  wanted "$1" || return 1
  measure "$@"
}

# The last run's requests/s and p99 (microseconds).
last_rps() { awk '{print $1}' "$WORK/last"; }
last_p99() { awk '{print $2}' "$WORK/last"; }

# CPU seconds so far of the server's hashing threads, by lane (from /proc):
# "idle 1.23 normal 0.00". The normal lane runs only when the idle threads
# were starved (or with hasher_idle = false).
hash_cpu() {
  local tick lane total t
  tick=$(getconf CLK_TCK)
  for lane in idle hash; do
    total=0
    for t in /proc/"$SERVER"/task/*; do
      [[ "$(cat "$t/comm" 2>/dev/null)" == kegauth-$lane-* ]] || continue
      # utime and stime: fields 14 and 15, counted after the ")" that ends the name.
      total=$((total + $(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')))
    done
    printf '%s %s ' "${lane/hash/normal}" "$(awk -v t="$total" -v h="$tick" 'BEGIN {printf "%.2f", t / h}')"
  done
}

# Busy CPU over the machine, in percent of all cores, between two readings of /proc/stat.
cpu_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
busy_since() { # the reading cpu_ticks gave at the start
  local now
  now=$(cpu_ticks)
  awk -v a="$1" -v b="$now" 'BEGIN {split(a, x, " "); split(b, y, " ");
    printf "%.0f%%", (y[2] > x[2] ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0)}'
}

# a / b, two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

# The median of the arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2)}'; }

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
  login_lua "$WORK/login.lua" "${form/bench%40/storm%40}" "$pre_login"

  # A browsing user: waits PACE_MS between requests.
  printf 'function delay() return %s end\n' "${PACE_MS:-1}" > "$WORK/pace.lua"

  echo "== $backend, session_cache_secs = $cache, $CONNECTIONS connections, $DURATION each"
  bench "GET /login" "$BASE/login" || true
  # Alternated REPEAT times: the pair to compare, under the same conditions.
  local ratios=() public
  for _ in $(seq 1 "${REPEAT:-3}"); do
    fresh_session
    bench "GET /public (unprotected)" -H "Cookie: kegauth=$cookie" "$BASE/public" || continue
    public=$(last_rps)
    bench "GET /secret1 (session)" -H "Cookie: kegauth=$cookie" "$BASE/secret1" || continue
    ratios+=("$(ratio "$(last_rps)" "$public")")
  done
  if [ ${#ratios[@]} -gt 0 ]; then
    echo "   /secret1 vs /public throughput: ${ratios[*]} (median $(median "${ratios[@]}")x; target >= 0.9x)"
  fi
  bench "GET /api/me (JWT)" -H "Authorization: Bearer $jwt" "$BASE/api/me" || true
  bench "POST /login (argon2id)" -s "$WORK/login.lua" "$BASE/login" || true
  # /secret1's latency, idle then while 20 clients log in: saturated, then
  # paced; the pair alternated REPEAT times (one 10-s p99 varies by a fifth
  # from run to run here), each ratio and their median printed. The storm
  # starts a second before the measurement and outlasts it.
  if wanted "during a login storm"; then
    local mode pace idle ticks before storm r
    for mode in saturated paced; do
      pace=()
      [ "$mode" = paced ] && pace=(-s "$WORK/pace.lua")
      ratios=()
      for _ in $(seq 1 "${REPEAT:-3}"); do
        fresh_session
        ticks=$(cpu_ticks)
        measure "GET /secret1, $mode, idle" "${pace[@]}" -H "Cookie: kegauth=$cookie" "$BASE/secret1"
        idle=$(last_p99)
        echo "   CPU busy: $(busy_since "$ticks")"
        wrk -t1 -c20 -d"$((${DURATION%s} + 3))s" -s "$WORK/login.lua" "$BASE/login" >"$WORK/storm" &
        storm=$!
        sleep 1
        fresh_session
        before=$(hash_cpu)
        ticks=$(cpu_ticks)
        measure "GET /secret1, $mode, login storm" "${pace[@]}" -H "Cookie: kegauth=$cookie" "$BASE/secret1"
        echo "   CPU busy: $(busy_since "$ticks"); hashing threads' CPU seconds, before: $before, after: $(hash_cpu)"
        wait "$storm" || true
        r=$(ratio "$(last_p99)" "$idle")
        ratios+=("$r")
        echo "   storm p99 / idle p99: ${r}x; the storm's logins: $(awk '/Requests\/sec/ {print $2}' "$WORK/storm") req/s"
      done
      echo "   /secret1 p99 during the storm vs idle, $mode: ${ratios[*]} (median $(median "${ratios[@]}")x; target <= 2x)"
    done
  fi

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
  for cache in ${CACHES:-0 1}; do
    run_backend "$backend" "$url" "$cache"
  done
done

#!/usr/bin/env bash
# Runs the ingestion benchmark of docs/benchmarks.md: for each storage and
# durability setting, a fresh database, a server on 127.0.0.1 and the load
# generator at concurrency 1 and 32. Needs PostgreSQL on 127.0.0.1:5432
# (user postgres, trust) for the PostgreSQL rows; set PG=0 to skip them.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'pkill -f "lastmile serve --listen 127.0.0.1:18099" || true; rm -rf "$work"' EXIT
go build -o "$work/lastmile" ./cmd/lastmile
go build -o "$work/loadgen" ./test/loadgen
N1=${N1:-5000} N32=${N32:-30000}

run() { # name, database URL, serve flags...
  local name=$1 url=$2; shift 2
  "$work/lastmile" migrate --database-url "$url" >/dev/null
  local secret
  secret=$("$work/lastmile" team create Bench --json --database-url "$url" | sed -n 's/.*"secret": "\([^"]*\)".*/\1/p')
  "$work/lastmile" serve --listen 127.0.0.1:18099 --log-level warn --database-url "$url" "$@" 2>"$work/serve.log" &
  local pid=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:18099/readyz >/dev/null && break; sleep 0.1; done
  for c in 1 32; do
    local n=$N1; [ "$c" = 32 ] && n=$N32
    printf '%-28s c=%-3s ' "$name" "$c"
    "$work/loadgen" -url "http://127.0.0.1:18099/webhook/$secret" -c "$c" -n "$n" | sed -n 's/^throughput *//p; s/^latency ms *//p' | paste -sd' '
  done
  # wrk (Debian package wrk) costs the shared cores less than the Go client.
  if command -v wrk >/dev/null; then
    printf '%-28s c=32  wrk ' "$name"
    wrk -t1 -c32 -d10s --latency -s test/loadgen/post.lua "http://127.0.0.1:18099/webhook/$secret" |
      awk '/Requests\/sec/ {r=$2} / 50%/ {p50=$2} / 99%/ {p99=$2} END {printf "%d req/s p50 %s p99 %s\n", r, p50, p99}'
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

printf '%-28s c=%-3s ' "baseline (trivial handler)" 32
"$work/loadgen" -baseline -c 32 -n "$N32" | sed -n 's/^throughput *//p; s/^latency ms *//p' | paste -sd' '
run "sqlite synchronous=full" "sqlite:$work/full.db" --sqlite-synchronous full
run "sqlite synchronous=normal" "sqlite:$work/normal.db" --sqlite-synchronous normal
if [ "${PG:-1}" = 1 ]; then
  for mode in on off; do
    db=lastmile_bench_$mode
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    run "postgres synchronous_commit=$mode" "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" --postgres-synchronous-commit "$mode"
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $db"
  done
fi

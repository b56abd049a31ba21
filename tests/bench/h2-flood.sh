#!/usr/bin/env bash
# HTTP/2 stream flood: one prior-knowledge connection asking for 30,000 concurrent streams
# (`h2load -n 30000 -c 1 -m 30000`) on GET /users/me, against BINARY started on a fresh
# database (loopback only). Prints h2load's summary and the server's RSS idle, peak and
# 2 s after. Needs h2load (Debian: nghttp2-client) and PostgreSQL at 127.0.0.1:5432.
# Usage: tests/bench/h2-flood.sh BINARY
set -u
bin="$1"; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db="taskapi_h2probe_$(date +%s%N)"
peakfile=$(mktemp)
DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" TASKAPI_JWT_SECRET=probe-secret-probe-secret-probe-secret \
  TASKAPI_REQUESTS_PER_MINUTE=0 RUST_LOG=warn "$bin" serve --bind 127.0.0.1:$port >/dev/null 2>&1 &
pid=$!
for i in $(seq 50); do curl -fs http://127.0.0.1:$port/health/ready >/dev/null && break; sleep 0.2; done
curl -fs -X POST http://127.0.0.1:$port/auth/register -H 'content-type: application/json' -d '{"email":"h2@example.com","password":"correct horse battery"}' >/dev/null
tok=$(curl -fs -X POST http://127.0.0.1:$port/auth/login --data-urlencode username=h2@example.com --data-urlencode "password=correct horse battery" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
rss() { awk '/VmRSS/{print int($2/1024)}' /proc/$pid/status; }
idle=$(rss)
( while kill -0 $pid 2>/dev/null; do r=$(rss); [ "$r" -gt "$(cat "$peakfile" 2>/dev/null || echo 0)" ] && echo $r > "$peakfile"; sleep 0.05; done ) &
sampler=$!
echo 0 > "$peakfile"
timeout 120 h2load -n 30000 -c 1 -m 30000 -H "Authorization: Bearer $tok" http://127.0.0.1:$port/users/me 2>&1 | grep -E "finished in|requests:|status codes:"
sleep 2
echo "RSS idle=${idle}MiB peak=$(cat "$peakfile")MiB after=$(rss)MiB"
kill $sampler $pid; wait $pid 2>/dev/null
psql postgres://postgres@127.0.0.1:5432/postgres -qAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
rm -f "$peakfile"

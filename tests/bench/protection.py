#!/usr/bin/env python3
"""Protection probe: what a login flood and an idle-socket flood do to a `taskapi` binary.

Starts the given binary on a fresh database (loopback only, with `ulimit -n 1024` as on a
default Linux box), then measures, in this order:
  1. RSS when idle;
  2. a login flood: WORKERS clients, each with an account of its own, logging in (right
     password) back to back for SECONDS: logins per second, answers by status, peak RSS,
     and RSS 5 s after the flood;
  3. the idle-socket probe: 1,100 TCP connections that send nothing, then one
     `GET /openapi.json` with a 3 s budget: does it get through, and how fast.
Everything stops by itself. Prints one JSON object.

Usage: tests/bench/protection.py BINARY [--workers 32] [--seconds 10] [--no-limits]
       (PostgreSQL from TASKAPI_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432)
Registrations per address are not limited here (the probe registers WORKERS accounts);
--no-limits turns the login limits off too, to isolate what they cost.
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid

PASSWORD = "correct horse battery staple"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def request(port, method, path, body=None, headers=None, timeout=10):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--no-limits", action="store_true")
    args = parser.parse_args()

    server_url = os.environ.get("TASKAPI_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432")
    database = f"taskapi_probe_{uuid.uuid4().hex}"
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{server_url}/{database}",
        TASKAPI_JWT_SECRET="probe-secret-probe-secret-probe-secret",
        RUST_LOG="warn",
        TASKAPI_REGISTRATIONS_PER_ADDRESS="0",
    )
    if args.no_limits:
        env.update(TASKAPI_LOGIN_FAILURES_PER_ACCOUNT="0", TASKAPI_LOGIN_FAILURES_PER_ADDRESS="0")
    server = subprocess.Popen(
        ["sh", "-c", 'ulimit -n 1024 && exec "$0" serve --bind "$1"', args.binary, f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result = {"binary": args.binary, "workers": args.workers, "seconds": args.seconds,
              "login_limits": not args.no_limits}
    try:
        deadline = time.time() + 30
        while True:
            try:
                if request(port, "GET", "/health/ready", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("the server did not become ready")
            time.sleep(0.1)

        forms = []
        for _ in range(args.workers):
            email = f"probe-{uuid.uuid4().hex[:12]}@example.com"
            request(port, "POST", "/auth/register",
                    json.dumps({"email": email, "password": PASSWORD}),
                    {"content-type": "application/json"})
            forms.append(urllib.parse.urlencode({"username": email, "password": PASSWORD}))
        form_headers = {"content-type": "application/x-www-form-urlencoded"}
        time.sleep(1)
        result["rss_idle_mib"] = round(rss_mib(server.pid), 1)

        statuses = {}
        lock = threading.Lock()
        stop_at = time.time() + args.seconds
        peak = [0.0]

        def worker(form):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while time.time() < stop_at:
                try:
                    connection.request("POST", "/auth/login", body=form, headers=form_headers)
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                except OSError:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    status = 0
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
            connection.close()

        def sampler():
            while time.time() < stop_at + 1:
                peak[0] = max(peak[0], rss_mib(server.pid))
                time.sleep(0.05)

        threads = [threading.Thread(target=worker, args=(form,)) for form in forms]
        watcher = threading.Thread(target=sampler)
        started = time.time()
        watcher.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.time() - started
        watcher.join()
        result["login_statuses"] = {str(k): v for k, v in sorted(statuses.items())}
        result["logins_per_second"] = round(statuses.get(200, 0) / elapsed, 1)
        result["rss_peak_mib"] = round(peak[0], 1)
        time.sleep(5)
        result["rss_5s_after_mib"] = round(rss_mib(server.pid), 1)

        sockets = []
        for _ in range(1100):
            try:
                sockets.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        result["idle_sockets_opened"] = len(sockets)
        time.sleep(0.5)
        started = time.time()
        try:
            status, _ = request(port, "GET", "/openapi.json", timeout=3)
        except OSError as error:
            status = f"failed: {type(error).__name__}"
        result["probe_during_idle_flood"] = {"status": status, "ms": round((time.time() - started) * 1000)}
        for s in sockets:
            s.close()
        result["rss_end_mib"] = round(rss_mib(server.pid), 1)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        subprocess.run(["psql", f"{server_url}/postgres", "-qAtc",
                        f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
                       stdout=subprocess.DEVNULL, check=False)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The load benchmark: taskapi against PostgreSQL's own limit, in one run.

    tests/bench/load.py [--seconds 10] [--out FILE] [--binary PATH] [--perf get,list]
                        [--scenarios ...] [--connections 1,16,64] [--skip ...] [--smoke]

Builds the release binary (unless --binary), creates a fresh database, starts the server on
it and seeds users (through the API) and tasks (with SQL). Then, on loopback:

  1. the physical reference on the same PostgreSQL: `pgbench -S -M prepared` (one indexed
     read per transaction) and a pgbench script with the server's own single
     `INSERT ... RETURNING` of a task, at each connection count;
  2. every scenario (login, me, get, list, create, update, patch, delete) at each
     connection count, each against a freshly started server so that its CPU time, peak RSS
     and PostgreSQL transaction count are its own;
  3. the mixed scenario: 16 connections logging in while 64 read (`get`);
  4. `get` at 64 connections for several pool sizes (TASKAPI_DB_MAX_CONNECTIONS);
  5. `get` over 256 keep-alive connections, for the peak RSS;
  5b. `get` at the top connection count with telemetry off, with metrics on
     (TASKAPI_METRICS_BIND) and with traces sampled at 1 % (to a loopback collector that
     discards them), interleaved for --telemetry-rounds rounds; medians compared;
  6. `get` and `create` through PgBouncer in transaction pooling mode
     (TASKAPI_DB_STATEMENT_CACHE=0), against the same scenarios direct;
  6b. the change feed's cost to writes: `create` and `update` at the top connection count
     with the feed on and off (its triggers disabled and its index on tasks dropped),
     interleaved for --feed-rounds rounds; medians compared;
  6c. --streams idle event streams (GET /events) held open on one server: its resident
     memory before and after, and how long a change takes to reach a stream while they
     are open;
  7. the reference again, so that drift during the run shows.

With --perf, the named scenarios run once more at 64 connections under `perf record`
(separate cases: sampling costs the server CPU), and the report adds where the server's
samples fell, summed by library.

Load comes from wrk (with tests/bench/load.lua), references from pgbench; both must be
installed (Debian: wrk, postgresql-contrib's pgbench; pgbouncer for step 6). Every figure is
also given as a ratio to the pgbench reference at the same connection count: reads against
`pgbench -S`, writes against the INSERT script (the mean of steps 1 and 7). Absolute numbers
on a shared 2-core machine move by a third from one day to the next; ratios are what to
compare.

Prints a markdown report and writes it to --out. --smoke runs the same steps for a second
each at 8 connections against the debug build, so that CI keeps the harness
working; it asserts nothing about timings.

PostgreSQL comes from TASKAPI_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432).
Everything binds to 127.0.0.1, is bounded in time, and is stopped and dropped at the end.
"""

import argparse
import concurrent.futures
import datetime
import http.server
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LUA = ROOT / "tests" / "bench" / "load.lua"
PASSWORD = "correct horse battery staple"
READS = ["login", "me", "get", "list"]
WRITES = ["create", "update", "patch", "delete"]
TASKS_PER_USER = 50
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The server's INSERT of a task (store::tasks::insert) with the values of the `create`
# scenario. The id is time-ordered like the server's UUIDv7, so both fill the primary key
# the same way.
INSERT_SCRIPT = """\
INSERT INTO "tasks" ("id", "created_at", "title", "description", "status", "priority", \
"due_at", "completed_at", "updated_at", "tags", "list_id", "assignee_id") VALUES \
((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') \
|| md5(random()::text)::varchar(20))::uuid, now(), 'Load test task', NULL, 'todo', \
'high', NULL, NULL, now(), '{}', :inbox, NULL) RETURNING "id", "list_id", "assignee_id", \
"title", "description", "status", "priority", "due_at", "completed_at", "created_at", \
"updated_at", "version", "tags";
"""

# Each task with the account whose Inbox holds it (the load's tasks are all in Inboxes).
INBOX_TASKS = "SELECT l.owner_id, t.id FROM tasks t JOIN lists l ON l.id = t.list_id"


def log(message):
    print(f"[load] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


class Postgres:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def sql(self, database, statement):
        result = run(["psql", f"{self.url}/{database}", "-qAtX", "-v", "ON_ERROR_STOP=1",
                      "-c", statement])
        return result.stdout.strip()

    def transactions(self, database):
        """Committed and rolled-back transactions of `database`, as flushed so far."""
        value = self.sql("postgres", "SELECT xact_commit + xact_rollback FROM "
                         f"pg_stat_database WHERE datname = '{database}'")
        return int(value or 0)

    def wait_for_no_sessions(self, database, timeout=10.0):
        """Waits for every session on `database` to end: a backend flushes its statistics
        when it exits, so the transaction count is complete after this."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = self.sql("postgres", "SELECT count(*) FROM pg_stat_activity "
                            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()")
            if left == "0":
                return
            time.sleep(0.05)
        raise RuntimeError(f"sessions on {database} did not end within {timeout} s")

    def drop(self, database):
        self.sql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


class Server:
    """One `taskapi serve` process on a free port."""

    def __init__(self, binary, env, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "ab")
        environment = dict(os.environ, **env, TASKAPI_BIND=f"127.0.0.1:{self.port}")
        self.process = subprocess.Popen([str(binary), "serve"], env=environment,
                                        stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; "
                                   f"see {log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not become ready; see {log_path}")

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def memory_mib(self, field):
        """A memory figure of the process's status: `VmHWM` (peak resident), `VmRSS`."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def peak_rss_mib(self):
        return self.memory_mib("VmHWM")

    def rss_mib(self):
        return self.memory_mib("VmRSS")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class PgBouncer:
    """PgBouncer in transaction pooling mode (tests/pgbouncer.sh) in front of PostgreSQL."""

    def __init__(self, workdir, pool_size):
        self.directory = Path(tempfile.mkdtemp(prefix="pgbouncer-", dir=workdir))
        self.process = subprocess.Popen(
            [str(ROOT / "tests" / "pgbouncer.sh"), str(self.directory), str(pool_size)],
            stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not (self.directory / "port").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("PgBouncer did not start")
            time.sleep(0.05)
        self.port = int((self.directory / "port").read_text())

    def url(self, postgres_url, database):
        target = urllib.parse.urlsplit(postgres_url)
        return f"postgres://{target.username or 'postgres'}@127.0.0.1:{self.port}/{database}"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


class DiscardingCollector:
    """An OTLP/HTTP endpoint on loopback that answers every export and keeps nothing: what
    the server sends its spans to when the benchmark measures tracing's cost."""

    def __init__(self):
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                collector.requests += 1
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.requests = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def received_until(connection, marker):
    """What `connection` receives up to and with `marker` (an event stream's head, an
    event); an error if it closes first."""
    received = b""
    while marker not in received:
        chunk = connection.recv(65536)
        if not chunk:
            raise RuntimeError(f"an event stream closed before {marker!r}")
        received += chunk
    return received


def wrk(url, scenario, data, connections, seconds):
    threads = 1 if connections == 1 else 2
    env = dict(os.environ, BENCH_SCENARIO=scenario, BENCH_DATA=str(data),
               BENCH_THREADS=str(threads))
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "10s", "-s", str(LUA), url]
    return subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def wrk_result(process):
    stdout, stderr = process.communicate(timeout=600)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {stderr.strip()}")
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            result = json.loads(line)
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"wrk printed no summary: {stdout}")


def library_of(dso, kind, symbol):
    """What a sampled function belongs to: the kernel, a shared library, or the crate its
    Rust path starts with (inside `<...>` for trait methods)."""
    if kind == "k":
        return "kernel"
    if dso != "taskapi" and not dso.startswith("taskapi"):
        return dso
    path = symbol.lstrip("<&*").removeprefix("mut ").removeprefix("dyn ")
    crate = re.match(r"[A-Za-z_][A-Za-z0-9_]*", path)
    if crate is None:
        return "other"
    name = crate.group(0)
    if name.startswith(("mi_", "_mi_")):
        return "mimalloc"
    if name in ("core", "alloc", "std"):
        return "std"
    return name


class Bench:
    def __init__(self, args):
        self.args = args
        self.pg = Postgres(os.environ.get("TASKAPI_TEST_DATABASE_URL",
                                          "postgres://postgres@127.0.0.1:5432"))
        stamp = time.strftime("%Y%m%d%H%M%S")
        self.database = f"taskapi_bench_{stamp}"
        self.pgbench_database = f"taskapi_bench_pgbench_{stamp}"
        self.work = Path(tempfile.mkdtemp(prefix="taskapi-load-"))
        self.work.chmod(0o755)
        self.secret = secrets.token_urlsafe(48)
        self.results = []
        self.references = {}
        self.notes = []

    # -- set-up -------------------------------------------------------------------------

    def server_env(self, **overrides):
        env = {
            "DATABASE_URL": f"{self.pg.url}/{self.database}",
            "TASKAPI_JWT_SECRET": self.secret,
            "TASKAPI_TOKEN_TTL_SECONDS": "7200",
            # The load comes from one address and few accounts: the per-user, per-address
            # and registration limits would answer most of it 429 (a login counts as a
            # failure until its password is checked, so queued logins add up).
            "TASKAPI_REQUESTS_PER_MINUTE": "0",
            "TASKAPI_REGISTRATIONS_PER_ADDRESS": "0",
            "TASKAPI_LOGIN_FAILURES_PER_ACCOUNT": "0",
            "TASKAPI_LOGIN_FAILURES_PER_ADDRESS": "0",
            "TASKAPI_MAX_CONNECTIONS_PER_ADDRESS": "0",
            "TASKAPI_MAX_SESSIONS_PER_USER": "0",
        }
        env.update(overrides)
        return env

    def start(self, **overrides):
        return Server(self.binary, self.server_env(**overrides), self.work / "server.log")

    def build(self):
        if self.args.binary:
            self.binary = Path(self.args.binary).resolve()
            return
        target = Path(os.environ.get("CARGO_TARGET_DIR",
                                     Path.home() / ".cache" / "taskapi" / "target"))
        profile = [] if self.args.smoke else ["--release"]
        log(f"building the {'debug' if self.args.smoke else 'release'} binary")
        subprocess.run(["cargo", "build", "--quiet", *profile, "-p", "taskapi-server",
                        "--bin", "taskapi"], check=True, cwd=ROOT,
                       env=dict(os.environ, CARGO_TARGET_DIR=str(target)))
        self.binary = target / ("debug" if self.args.smoke else "release") / "taskapi"

    def seed(self):
        users = max(self.args.connections + [self.args.mixed_logins])
        log(f"seeding {users} users with {TASKS_PER_USER} tasks each")
        server = self.start()
        try:
            def sign_up(index):
                email = f"load-{index}@example.com"
                body = json.dumps({"email": email, "password": PASSWORD}).encode()
                request = urllib.request.Request(
                    f"{server.url}/auth/register", data=body, method="POST",
                    headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=60) as answer:
                    user_id = json.load(answer)["id"]
                form = urllib.parse.urlencode(
                    {"grant_type": "password", "username": email, "password": PASSWORD})
                request = urllib.request.Request(
                    f"{server.url}/auth/login", data=form.encode(), method="POST",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
                with urllib.request.urlopen(request, timeout=60) as answer:
                    token = json.load(answer)["access_token"]
                return email, user_id, token

            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                self.users = list(pool.map(sign_up, range(users)))
        finally:
            server.stop()
        self.pg.sql(self.database, f"""
            INSERT INTO tasks (id, list_id, title, status, priority, created_at, updated_at)
            SELECT gen_random_uuid(), l.id, 'Seeded task ' || n, 'todo', 'normal', now(), now()
            FROM lists l, generate_series(1, {TASKS_PER_USER}) n WHERE l.is_inbox""")
        rows = self.pg.sql(self.database, INBOX_TASKS + " ORDER BY t.id")
        tasks = {}
        for line in rows.splitlines():
            owner, task = line.split("|")
            tasks.setdefault(owner, []).append(task)
        token_of = {user_id: token for _, user_id, token in self.users}
        # Consecutive lines belong to different users, so that concurrent writes rarely meet.
        pairs = [(token_of[owner], ids[i]) for i in range(TASKS_PER_USER)
                 for owner, ids in tasks.items()]
        self.tokens = self.write("tokens.txt", [(token,) for _, _, token in self.users])
        self.tasks = self.write("tasks.txt", pairs)
        self.logins = self.write("logins.txt",
                                 [(urllib.parse.quote(email), urllib.parse.quote(PASSWORD))
                                  for email, _, _ in self.users])
        self.inbox = self.pg.sql(
            self.database,
            f"SELECT id FROM lists WHERE owner_id = '{self.users[0][1]}' AND is_inbox").strip()
        self.pg.sql(self.database, "VACUUM ANALYZE")

    def write(self, name, rows):
        path = self.work / name
        path.write_text("".join(" ".join(row) + "\n" for row in rows))
        path.chmod(0o644)
        return path

    def deletable(self):
        """A data file of tasks made to be deleted, topped up to --delete-pool before each
        delete run: more than one run can delete."""
        left = int(self.pg.sql(self.database,
                               "SELECT count(*) FROM tasks WHERE title = 'Delete me'"))
        per_user = -(-(self.args.delete_pool - left) // len(self.users))
        if per_user > 0:
            self.pg.sql(self.database, f"""
                INSERT INTO tasks (id, list_id, title, status, priority, created_at,
                                   updated_at)
                SELECT gen_random_uuid(), l.id, 'Delete me', 'todo', 'normal', now(), now()
                FROM lists l, generate_series(1, {per_user}) WHERE l.is_inbox""")
        rows = self.pg.sql(self.database, INBOX_TASKS + " WHERE t.title = 'Delete me'")
        token_of = {user_id: token for _, user_id, token in self.users}
        pairs = [(token_of[owner], task) for owner, task
                 in (line.split("|") for line in rows.splitlines())]
        return self.write("delete.txt", pairs)

    def data_for(self, scenario):
        if scenario == "login":
            return self.logins
        if scenario in ("me", "list", "create"):
            return self.tokens
        if scenario == "delete":
            return self.deletable()
        return self.tasks

    # -- measurements -------------------------------------------------------------------

    def pgbench(self, connections, write):
        threads = 1 if connections == 1 else 2
        common = ["pgbench", "-n", "-M", "prepared", "-c", str(connections), "-j", str(threads),
                  "-T", str(self.args.seconds)]
        if write:
            script = self.work / "insert.sql"
            script.write_text(INSERT_SCRIPT)
            command = common + ["-f", str(script), "-D", f"inbox={self.inbox}",
                                f"{self.pg.url}/{self.database}"]
        else:
            command = common + ["-S", f"{self.pg.url}/{self.pgbench_database}"]
        output = run(command).stdout
        return float(re.search(r"tps = ([0-9.]+)", output).group(1))

    def reference_pass(self, label):
        for connections in self.args.connections:
            for write in (False, True):
                tps = self.pgbench(connections, write)
                self.references.setdefault((write, connections), []).append(tps)
                log(f"pgbench {'insert' if write else '-S'} c={connections} ({label}): "
                    f"{tps:,.0f} tps")

    def reference(self, scenario, connections):
        samples = self.references.get((scenario in WRITES, connections))
        return statistics.mean(samples) if samples else None

    def case(self, scenario, connections, label=None, via=None, profile=False, **overrides):
        """One scenario against a fresh server: warm-up, then the measured run."""
        data = self.data_for(scenario)
        bouncer = None
        if via == "pgbouncer":
            bouncer = PgBouncer(self.work, pool_size=overrides.get(
                "TASKAPI_DB_MAX_CONNECTIONS", 10))
            overrides = dict(overrides,
                             DATABASE_URL=bouncer.url(self.pg.url, self.database),
                             TASKAPI_DIRECT_DATABASE_URL=f"{self.pg.url}/{self.database}",
                             TASKAPI_DB_STATEMENT_CACHE="0")
        transactions_before = self.pg.transactions(self.database)
        server = self.start(**overrides)
        try:
            warm = wrk_result(wrk(server.url, scenario, data, connections, self.args.warmup))
            if scenario == "delete":
                data = self.deletable()  # without the tasks the warm-up deleted
            cpu_before = server.cpu_seconds()
            perf = self.perf_record(server, scenario) if profile else None
            measured = wrk_result(wrk(server.url, scenario, data, connections,
                                      self.args.seconds))
            cpu = server.cpu_seconds() - cpu_before
            peak_rss = server.peak_rss_mib()
            if perf:
                self.perf_report(scenario, connections, *perf)
        finally:
            server.stop()
            if bouncer:
                bouncer.stop()
        self.pg.wait_for_no_sessions(self.database)
        transactions = self.pg.transactions(self.database) - transactions_before
        result = dict(measured, scenario=scenario, connections=connections,
                      label=label or scenario,
                      cpu_cores=cpu / (measured["duration_us"] / 1e6),
                      cpu_us=cpu * 1e6 / max(measured["requests"], 1),
                      xacts=transactions / max(warm["requests"] + measured["requests"], 1),
                      peak_rss=peak_rss, reference=self.reference(scenario, connections))
        self.results.append(result)
        log(f"{result['label']} c={connections}: {result['rps']:,.0f} req/s, "
            f"p99 {result['p99_us'] / 1000:.1f} ms, {result['errors']} errors, "
            f"{result['cpu_us']:.0f} µs CPU/req, {result['xacts']:.2f} xact/req, "
            f"{peak_rss:.1f} MiB")
        return result

    def telemetry(self, connections, rounds):
        """`get` with telemetry off, with metrics on, and with traces sampled at 1 % (sent
        to a loopback collector that discards them), interleaved round by round so that
        drift on a shared machine falls on all three alike; the medians are compared."""
        collector = DiscardingCollector()
        variants = {
            "telemetry off": {},
            "metrics on": {"TASKAPI_METRICS_BIND": f"127.0.0.1:{free_port()}"},
            "traces at 1 %": {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
                              "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                              "OTEL_TRACES_SAMPLER_ARG": "0.01"},
        }
        runs = {name: [] for name in variants}
        try:
            for _ in range(rounds):
                for name, env in variants.items():
                    runs[name].append(self.case("get", connections, label=f"get, {name}", **env))
        finally:
            collector.stop()
        self.telemetry_result = {
            name: {key: statistics.median(run[key] for run in results)
                   for key in ("rps", "cpu_us", "p99_us")}
            for name, results in runs.items()}
        self.telemetry_result["spans received"] = collector.requests

    def feed_cost(self, connections, rounds):
        """`create` and `update` with the change feed on and off, interleaved round by
        round; the medians are compared. Off is the tasks' write path as it was before the
        feed: its triggers disabled (no log rows) and its index on tasks (`list_id, id`,
        for full syncs) dropped. The announcer runs in both, finding nothing when off."""
        triggers = ("tasks_inserted", "tasks_updated", "tasks_deleted")

        def feed(on):
            verb = "ENABLE" if on else "DISABLE"
            index = ("CREATE INDEX IF NOT EXISTS tasks_list_id_idx ON tasks (list_id, id)"
                     if on else "DROP INDEX IF EXISTS tasks_list_id_idx")
            self.pg.sql(self.database, "; ".join(
                [f"ALTER TABLE tasks {verb} TRIGGER {trigger}" for trigger in triggers]
                + [index]))

        runs = {}
        try:
            for _ in range(rounds):
                for scenario in ("create", "update"):
                    for on in (False, True):
                        feed(on)
                        label = f"{scenario}, feed {'on' if on else 'off'}"
                        runs.setdefault(label, []).append(
                            self.case(scenario, connections, label=label))
        finally:
            feed(True)
        self.feed_result = {
            label: {key: statistics.median(run[key] for run in results)
                    for key in ("rps", "cpu_us", "p50_us", "p99_us")}
            for label, results in runs.items()}

    def idle_streams(self, count):
        """`count` event streams open on one server, idle: its resident memory before and
        after (once every stream has its response head), then how long a change written
        through the API takes to reach one of them, while all are open."""
        server = self.start(TASKAPI_MAX_STREAMS_PER_USER=str(count),
                            TASKAPI_MAX_CONNECTIONS=str(count + 100))
        sockets = []
        try:
            wrk_result(wrk(server.url, "get", self.tasks, 8, 1))
            time.sleep(0.5)
            before = server.rss_mib()
            tokens = [token for _, _, token in self.users]
            for index in range(count):
                connection = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                connection.sendall(
                    f"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                    f"{tokens[index % len(tokens)]}\r\n\r\n".encode())
                sockets.append(connection)
            for connection in sockets:
                head = received_until(connection, b"\r\n\r\n")
                if b" 200 " not in head.split(b"\r\n", 1)[0]:
                    raise RuntimeError(f"an event stream was refused: {head[:200]!r}")
            time.sleep(1)
            after = server.rss_mib()
            # The first user's first stream: a task created through the API reaches it.
            watcher = sockets[0]
            arrivals = []
            for attempt in range(5):
                body = json.dumps({"title": f"Streamed {attempt}"}).encode()
                request = urllib.request.Request(
                    f"{server.url}/tasks", data=body, method="POST",
                    headers={"Content-Type": "application/json",
                             "Authorization": f"Bearer {tokens[0]}"})
                sent = time.monotonic()
                with urllib.request.urlopen(request, timeout=30):
                    pass
                received_until(watcher, b"event: change")
                arrivals.append((time.monotonic() - sent) * 1000)
        finally:
            for connection in sockets:
                connection.close()
            server.stop()
        self.streams_result = dict(count=count, before=before, after=after,
                                   arrival_ms=statistics.median(arrivals),
                                   arrival_max_ms=max(arrivals))
        log(f"{count} idle streams: RSS {before:.1f} → {after:.1f} MiB; a change arrived "
            f"in {statistics.median(arrivals):.1f} ms (median)")

    def perf_record(self, server, scenario):
        """Samples the server's stacks (perf, 999 Hz) for as long as the measured run."""
        path = self.work / f"perf-{scenario}.data"
        process = subprocess.Popen(
            ["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-p", str(server.process.pid), "-o",
             str(path), "--", "sleep", str(self.args.seconds)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return process, path

    def perf_report(self, scenario, connections, process, path):
        """Where the server's samples fell, by self time: summed by library (the Rust crate a
        function belongs to, the kernel, libc), and the top functions."""
        process.wait(timeout=self.args.seconds + 30)
        output = run(["perf", "report", "--stdio", "--no-children", "-g", "none",
                      "--sort", "dso,symbol", "--percent-limit", "0", "-i", str(path)]).stdout
        by_library, functions = {}, []
        for line in output.splitlines():
            match = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
            if not match:
                continue
            # perf pads the symbol column and may print more columns after it.
            share, dso, kind, symbol = (float(match.group(1)), match.group(2),
                                        match.group(3), re.split(r"\s{2,}", match.group(4))[0])
            library = library_of(dso, kind, symbol)
            by_library[library] = by_library.get(library, 0.0) + share
            functions.append((share, symbol))
        top = sorted(by_library.items(), key=lambda item: -item[1])[:12]
        self.notes += [f"### Where the server's CPU goes: {scenario} at {connections} "
                       "connections (perf, self time)", "",
                       "| Library | Samples | | Function | Samples |", "|---|---|---|---|---|"]
        for (library, share), (function_share, function) in zip(top, functions[:12]):
            self.notes.append(f"| {library} | {share:.1f} % | | `{function[:90]}` | "
                              f"{function_share:.1f} % |")
        self.notes.append("")

    def mixed(self, reads, logins):
        """Logins and reads at once against one server: the reads' latency with hashing."""
        server = self.start()
        try:
            wrk_result(wrk(server.url, "get", self.tasks, reads, self.args.warmup))
            login = wrk(server.url, "login", self.logins, logins, self.args.seconds)
            read = wrk(server.url, "get", self.tasks, reads, self.args.seconds)
            read_result, login_result = wrk_result(read), wrk_result(login)
            peak_rss = server.peak_rss_mib()
        finally:
            server.stop()
        alone = next((r for r in self.results
                      if r["label"] == "get" and r["connections"] == reads), None)
        self.mixed_result = dict(read=read_result, login=login_result, peak_rss=peak_rss,
                                 alone=alone)
        log(f"mixed: reads p99 {read_result['p99_us'] / 1000:.1f} ms with "
            f"{login_result['rps']:.0f} logins/s")

    # -- report -------------------------------------------------------------------------

    def machine(self):
        def first_line(command):
            try:
                answer = subprocess.run(command, text=True, capture_output=True)
                return (answer.stdout + answer.stderr).strip().splitlines()[0]
            except (OSError, IndexError):
                return "unknown"

        cpu = "unknown"
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        memory = 0
        with open("/proc/meminfo") as info:
            memory = int(info.readline().split()[1]) // (1024 * 1024)
        commit = first_line(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
        return [
            f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
            f"commit `{commit}`; binary `{self.binary}`",
            f"- Machine: {os.cpu_count()} cores ({cpu}), {memory} GiB, "
            f"{platform.system()} {platform.release()}",
            f"- {self.pg.sql('postgres', 'SHOW server_version')} (PostgreSQL), "
            f"{first_line(['pgbench', '--version'])}, {first_line(['wrk', '-v']).split(' Copyright')[0]}, "
            f"{first_line(['rustc', '--version'])}",
            f"- Command: `{' '.join(sys.argv)}`; {self.args.seconds} s per run after "
            f"{self.args.warmup} s of warm-up, each case on a freshly started server",
        ]

    def report(self):
        def ms(us):
            return f"{us / 1000:.2f}"

        def ratio(result):
            return f"{result['rps'] / result['reference']:.0%}" if result["reference"] else "–"

        lines = ["## Run", ""] + self.machine() + ["", "### PostgreSQL's own limit (pgbench)", "",
                 "| Connections | `-S -M prepared` tps | INSERT … RETURNING tps |", "|---|---|---|"]
        for connections in self.args.connections:
            reads = self.references.get((False, connections), [])
            writes = self.references.get((True, connections), [])
            lines.append(f"| {connections} | {' → '.join(f'{t:,.0f}' for t in reads)} | "
                         f"{' → '.join(f'{t:,.0f}' for t in writes)} |")
        lines += ["", "Each pair is the pass before the scenarios → the pass after; ratios "
                  "use their mean.", "", "### Scenarios", "",
                  "| Scenario | Conns | req/s | vs pgbench | p50 ms | p90 ms | p99 ms | errors "
                  "| server cores | server µs/req | PG xact/req | peak RSS MiB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in self.results:
            lines.append(
                f"| {r['label']} | {r['connections']} | {r['rps']:,.0f} | {ratio(r)} | "
                f"{ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | {r['errors']} | "
                f"{r['cpu_cores']:.2f} | {r['cpu_us']:.0f} | {r['xacts']:.2f} | "
                f"{r['peak_rss']:.1f} |")
        mixed = getattr(self, "mixed_result", None)
        if mixed:
            read, login, alone = mixed["read"], mixed["login"], mixed["alone"]
            lines += ["", "### Mixed: logins while reading", "",
                      f"- {self.args.mixed_logins} connections logging in: "
                      f"{login['rps']:,.1f} logins/s, p99 {ms(login['p99_us'])} ms, "
                      f"{login['errors']} errors",
                      f"- {max(self.args.connections)} connections reading (`get`): "
                      f"{read['rps']:,.0f} req/s, p99 {ms(read['p99_us'])} ms, "
                      f"{read['errors']} errors; peak RSS {mixed['peak_rss']:.1f} MiB"]
            if alone:
                lines.append(f"- reads' p99 with logins ÷ alone: {ms(read['p99_us'])} ÷ "
                             f"{ms(alone['p99_us'])} = "
                             f"{read['p99_us'] / max(alone['p99_us'], 1):.2f}×")
        overhead = getattr(self, "telemetry_result", None)
        if overhead:
            off = overhead["telemetry off"]
            lines += ["", "### Telemetry overhead (`get`, medians of the interleaved rounds)", "",
                      "| Variant | req/s | vs off | server µs/req | vs off | p99 ms |",
                      "|---|---|---|---|---|---|"]
            for name in ("telemetry off", "metrics on", "traces at 1 %"):
                r = overhead[name]
                lines.append(f"| {name} | {r['rps']:,.0f} | {r['rps'] / off['rps']:.1%} | "
                             f"{r['cpu_us']:.0f} | {r['cpu_us'] / off['cpu_us']:.1%} | "
                             f"{ms(r['p99_us'])} |")
            lines.append(f"\nThe collector received {overhead['spans received']} export requests.")
        feed = getattr(self, "feed_result", None)
        if feed:
            lines += ["", "### The change feed's cost to writes (medians of the interleaved "
                      f"rounds, {max(self.args.connections)} connections)", "",
                      "| Scenario | feed off req/s | feed on req/s | on ÷ off | µs/req off | "
                      "µs/req on | p50 ms off | p50 ms on |", "|---|---|---|---|---|---|---|---|"]
            for scenario in ("create", "update"):
                off, on = feed[f"{scenario}, feed off"], feed[f"{scenario}, feed on"]
                lines.append(f"| {scenario} | {off['rps']:,.0f} | {on['rps']:,.0f} | "
                             f"{on['rps'] / off['rps']:.1%} | {off['cpu_us']:.0f} | "
                             f"{on['cpu_us']:.0f} | {ms(off['p50_us'])} | {ms(on['p50_us'])} |")
        streams = getattr(self, "streams_result", None)
        if streams:
            added = streams["after"] - streams["before"]
            lines += ["", "### Idle event streams", "",
                      f"- {streams['count']} streams open on one server: resident memory "
                      f"{streams['before']:.1f} MiB → {streams['after']:.1f} MiB, "
                      f"{added:.1f} MiB more ({added * 1024 / streams['count']:.1f} KiB a stream)",
                      f"- a task created through the API reached a stream in "
                      f"{streams['arrival_ms']:.1f} ms (median of 5; slowest "
                      f"{streams['arrival_max_ms']:.1f} ms) with all of them open"]
        lines += [""] + self.notes
        return "\n".join(lines) + "\n"

    # -- the run ------------------------------------------------------------------------

    def run(self):
        for tool in ("wrk", "pgbench", "psql", "pgbouncer"):
            if shutil.which(tool) is None:
                sys.exit(f"load.py: {tool} is not installed")
        self.build()
        try:
            log(f"pgbench -i -s {self.args.scale} into {self.pgbench_database}")
            self.pg.sql("postgres", f'CREATE DATABASE "{self.pgbench_database}"')
            run(["pgbench", "-i", "-q", "-s", str(self.args.scale),
                 f"{self.pg.url}/{self.pgbench_database}"])
            self.seed()
            self.reference_pass("before")
            for scenario in self.args.scenarios:
                for connections in self.args.connections:
                    self.case(scenario, connections)
            top = max(self.args.connections)
            skip = self.args.skip
            if "mixed" not in skip:
                self.mixed(top, self.args.mixed_logins)
            if "pool" not in skip:
                for size in self.args.pool_sizes:
                    self.case("get", top, label=f"get, pool {size}",
                              TASKAPI_DB_MAX_CONNECTIONS=str(size))
            if "telemetry" not in skip:
                self.telemetry(top, self.args.telemetry_rounds)
            if "keepalive" not in skip:
                self.case("get", self.args.keepalive, label="get, keep-alive")
            # Profiled runs are separate: sampling stacks costs the server CPU time.
            for scenario in sorted(self.args.perf):
                self.case(scenario, top, label=f"{scenario}, under perf", profile=True)
            if "pgbouncer" not in skip:
                for scenario in ("get", "create"):
                    self.case(scenario, top, label=f"{scenario} via PgBouncer",
                              via="pgbouncer")
            if "feed" not in skip:
                self.feed_cost(top, self.args.feed_rounds)
            if "streams" not in skip:
                self.idle_streams(self.args.streams)
            self.reference_pass("after")
            for result in self.results:
                result["reference"] = self.reference(result["scenario"],
                                                     result["connections"])
        finally:
            if not self.args.keep:
                self.pg.drop(self.database)
                self.pg.drop(self.pgbench_database)
                shutil.rmtree(self.work, ignore_errors=True)
        report = self.report()
        print(report)
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report)
        log(f"written to {out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--pool-sizes", default="2,4,8,16,32")
    parser.add_argument("--keepalive", type=int, default=256)
    parser.add_argument("--mixed-logins", type=int, default=16)
    parser.add_argument("--scale", type=int, default=10, help="pgbench scale factor")
    parser.add_argument("--delete-pool", type=int, default=150_000,
                        help="tasks made for each delete run")
    parser.add_argument("--binary", help="a built taskapi binary (default: build release)")
    parser.add_argument("--out", default=str(Path(os.environ.get(
        "CARGO_TARGET_DIR", Path.home() / ".cache" / "taskapi" / "target")) / "load.md"))
    parser.add_argument("--scenarios", default=",".join(READS + WRITES),
                        help="the scenarios to run, comma-separated")
    parser.add_argument("--perf", default="",
                        help="scenarios to profile with perf at the top connection count")
    parser.add_argument("--skip", default="", help="steps to leave out, comma-separated: "
                        "mixed, pool, telemetry, keepalive, pgbouncer, feed, streams")
    parser.add_argument("--feed-rounds", type=int, default=3,
                        help="rounds of the feed step (create and update, feed off and on)")
    parser.add_argument("--streams", type=int, default=1000,
                        help="idle event streams held open in the streams step")
    parser.add_argument("--telemetry-rounds", type=int, default=3,
                        help="rounds of the telemetry step (off, metrics, traces at 1 %%)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and files")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds in all, against the debug build, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.warmup, args.connections = 1, 1, "8"
        args.pool_sizes, args.keepalive, args.mixed_logins = "4", 32, 4
        args.scale, args.delete_pool = 1, 10_000
        args.telemetry_rounds = args.feed_rounds = 1
        args.streams = 50
    args.connections = [int(c) for c in args.connections.split(",")]
    args.pool_sizes = [int(s) for s in args.pool_sizes.split(",") if s]
    args.skip = {step for step in args.skip.split(",") if step}
    args.perf = {scenario for scenario in args.perf.split(",") if scenario}
    args.scenarios = [scenario for scenario in args.scenarios.split(",") if scenario]
    Bench(args).run()


if __name__ == "__main__":
    main()

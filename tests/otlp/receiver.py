#!/usr/bin/env python3
"""An OTLP/HTTP trace receiver for the tests: a real collector's wire format, on loopback.

    receiver.py PORT OUTPUT

Listens on 127.0.0.1:PORT (0 picks a free port) and prints the port it listens on as the
first line of standard output. Each POST /v1/traces with an `application/x-protobuf`
ExportTraceServiceRequest is answered with an empty ExportTraceServiceResponse, and every
span in it is appended to OUTPUT as one JSON object a line:

    {"trace_id": "<32 hex>", "span_id": "<16 hex>", "parent_span_id": "<16 hex or empty>",
     "trace_state": "<W3C tracestate or empty>", "name": "GET /tasks/{task_id}", "kind": "server", "start_ns": 1, "end_ns": 2,
     "status": "unset", "attributes": {"http.route": "/tasks/{task_id}", ...},
     "service_name": "taskapi", "scope": "taskapi"}

Lines are flushed as each request is answered, so a test may read OUTPUT while the
receiver runs. SIGTERM or SIGINT stops it after the requests under way are answered.
"""

import gzip
import json
import signal
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

TRACES_PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"
# The OTLP/HTTP specification's suggested limit for a request body.
MAX_BODY_BYTES = 64 * 1024 * 1024


def any_value(value):
    """An OTLP AnyValue as the JSON value a test compares with (bytes as hex)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(key_values):
    return {kv.key: any_value(kv.value) for kv in key_values}


def enum_suffix(enum, number, prefix):
    """`SPAN_KIND_SERVER` → `server`: the short name the tests spell."""
    return enum.Name(number).removeprefix(prefix).lower()


def span_records(request):
    for resource_spans in request.resource_spans:
        service_name = attributes(resource_spans.resource.attributes).get("service.name")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield {
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "trace_state": span.trace_state,
                    "name": span.name,
                    "kind": enum_suffix(Span.SpanKind, span.kind, "SPAN_KIND_"),
                    "start_ns": span.start_time_unix_nano,
                    "end_ns": span.end_time_unix_nano,
                    "status": enum_suffix(Status.StatusCode, span.status.code, "STATUS_CODE_"),
                    "attributes": attributes(span.attributes),
                    "service_name": service_name,
                    "scope": scope_spans.scope.name,
                }


class SpanLog:
    """OUTPUT, written by one request at a time so lines never interleave; closing it
    waits for the exports under way."""

    def __init__(self, path):
        self._file = open(path, "a", encoding="utf-8")
        self._idle = threading.Condition()
        self._exports_under_way = 0

    @contextmanager
    def export(self):
        with self._idle:
            self._exports_under_way += 1
        try:
            yield
        finally:
            with self._idle:
                self._exports_under_way -= 1
                self._idle.notify_all()

    def append(self, records):
        lines = "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
        with self._idle:
            self._file.write(lines)
            self._file.flush()

    def close(self, timeout):
        with self._idle:
            self._idle.wait_for(lambda: self._exports_under_way == 0, timeout)
            self._file.close()


class OtlpHandler(BaseHTTPRequestHandler):
    # Keep-alive, as exporters pool their connections.
    protocol_version = "HTTP/1.1"
    server_version = "otlp-test-receiver"

    def do_POST(self):
        body = self.read_body()
        if body is None:
            return
        # Counted from here: a client that stalls while sending must not hold up stopping.
        with self.server.span_log.export():
            self.receive_export(body)

    def receive_export(self, body):
        if self.path != TRACES_PATH:
            return self.refuse(404, "only POST /v1/traces is served")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != PROTOBUF:
            return self.refuse(415, f"Content-Type must be {PROTOBUF}")
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as error:
                return self.refuse(400, f"gzip body: {error}")
        elif encoding != "identity":
            return self.refuse(415, f"unsupported Content-Encoding {encoding}")
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as error:  # DecodeError, or another type from the upb backend
            return self.refuse(400, f"not an ExportTraceServiceRequest: {error}")
        self.server.span_log.append(span_records(request))
        self.reply(200, PROTOBUF, ExportTraceServiceResponse().SerializeToString())

    def do_GET(self):
        self.refuse(405, "only POST is served", [("Allow", "POST")])

    do_HEAD = do_PUT = do_DELETE = do_PATCH = do_GET

    def read_body(self):
        """The whole body, or None once a refusal has been sent (and the connection
        marked to close, as the unread body would be taken for the next request)."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self.refuse(411, "a Content-Length is required")
            return None
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            self.refuse(413, f"the body is over {MAX_BODY_BYTES} bytes")
            return None
        return self.rfile.read(int(length))

    def refuse(self, status, message, headers=()):
        sys.stderr.write(f"receiver: {status} for {self.command} {self.path}: {message}\n")
        self.reply(status, "text/plain; charset=utf-8", (message + "\n").encode(), headers)

    def reply(self, status, content_type, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        # Accepted exports are in OUTPUT and refusals say why on stderr: no access log.
        pass

    def log_message(self, format, *args):
        sys.stderr.write("receiver: " + (format % args) + "\n")


class Receiver(ThreadingHTTPServer):
    # An exporter keeps its connection open between exports: stopping must not wait for
    # it, only for the exports under way (SpanLog.close).
    daemon_threads = True

    def __init__(self, port, span_log):
        super().__init__(("127.0.0.1", port), OtlpHandler)
        self.span_log = span_log


def main(argv):
    if len(argv) != 3 or not argv[1].isdigit():
        sys.exit(f"usage: {argv[0]} PORT OUTPUT   (PORT 0 picks a free port and prints it)")
    span_log = SpanLog(argv[2])
    receiver = Receiver(int(argv[1]), span_log)
    print(receiver.server_address[1], flush=True)

    def stop(_signum, _frame):
        # shutdown() waits for serve_forever to return, so it cannot run on this thread.
        threading.Thread(target=receiver.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        receiver.serve_forever()
    finally:
        receiver.server_close()
        span_log.close(timeout=10)


if __name__ == "__main__":
    main(sys.argv)

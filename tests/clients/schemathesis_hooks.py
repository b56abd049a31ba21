"""Schemathesis authentication for taskapi: a fresh login every second.

Schemathesis calls every operation, `POST /auth/logout` and `DELETE /users/me/sessions/{id}`
among them, and each of those ends the session its token belongs to. Logging in again each
second keeps the rest of the run authenticated, as a real client that logs in again would
be. The rate limits are off for this run (tests/run), so these logins are not refused.
"""

import json
import os
import urllib.parse
import urllib.request

import schemathesis


def log_in() -> str:
    form = urllib.parse.urlencode(
        {
            "username": os.environ["SCHEMATHESIS_EMAIL"],
            "password": os.environ["SCHEMATHESIS_PASSWORD"],
        }
    ).encode()
    request = urllib.request.Request(
        os.environ["TASKAPI_URL"] + "/auth/login", data=form, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["access_token"])


@schemathesis.auth(refresh_interval=1)
class FreshLogin:
    def get(self, case, ctx):  # type: ignore[no-untyped-def]
        return log_in()

    def set(self, case, data, ctx):  # type: ignore[no-untyped-def]
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"

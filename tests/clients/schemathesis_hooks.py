"""Schemathesis hooks for taskapi: every operation called with credentials it accepts.

Three kinds of credentials, chosen by operation id (tests/clients/schemathesis names
the operations in SCHEMATHESIS_ADMIN_OPERATIONS and SCHEMATHESIS_PASSWORDED_OPERATIONS):

- the administrator operations as the administrator the script created;
- the operations that ask for the caller's password as an account registered with a known
  password, which the case's body carries in `current_password` when the body was generated
  valid; a case that succeeds may have changed the account's password or email, or deleted
  it, so the next case registers a fresh account;
- every other operation as the signed-up user.

Schemathesis calls `POST /auth/logout` and `DELETE /users/me/sessions/{id}` among the rest,
and each of those ends the session its token belongs to. Logging in again each second keeps
the rest of the run authenticated, as a real client that logs in again would be. The rate
limits are off for this run (tests/run), so these logins and registrations are not refused.
"""

import itertools
import json
import os
import re
import time
import urllib.parse
import urllib.request

import schemathesis
from schemathesis.core.parameters import ParameterLocation

# The password of each account made for one case (not the one in the contract's examples).
OWNER_PASSWORD = "schemathesis owns this one"
owners = itertools.count()


def post(path: str, data: bytes, content_type: str) -> dict[str, object]:
    request = urllib.request.Request(
        os.environ["TASKAPI_URL"] + path,
        data=data,
        method="POST",
        headers={"content-type": content_type},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body: dict[str, object] = json.load(response)
        return body


def log_in(email: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": email, "password": password}).encode()
    return str(post("/auth/login", form, "application/x-www-form-urlencoded")["access_token"])


def bearer(case, token: str) -> None:  # type: ignore[no-untyped-def]
    case.headers = case.headers or {}
    case.headers["Authorization"] = f"Bearer {token}"


@schemathesis.auth(refresh_interval=1).apply_to(
    operation_id_regex=os.environ["SCHEMATHESIS_ADMIN_OPERATIONS"]
)
class Administrator:
    def get(self, case, ctx):  # type: ignore[no-untyped-def]
        return log_in(os.environ["SCHEMATHESIS_ADMIN_EMAIL"], os.environ["SCHEMATHESIS_PASSWORD"])

    def set(self, case, data, ctx):  # type: ignore[no-untyped-def]
        bearer(case, data)


PASSWORDED = re.compile(os.environ["SCHEMATHESIS_PASSWORDED_OPERATIONS"])
# The token of the account the passworded operations use until one of them succeeds.
owner: list[str] = []


@schemathesis.auth(refresh_interval=None).apply_to(operation_id_regex=PASSWORDED.pattern)
class OwnAccount:
    def get(self, case, ctx):  # type: ignore[no-untyped-def]
        if not owner:
            email = f"schemathesis-owner-{next(owners)}-{time.time_ns()}@example.com"
            registration = {"email": email, "password": OWNER_PASSWORD}
            post("/auth/register", json.dumps(registration).encode(), "application/json")
            owner.append(log_in(email, OWNER_PASSWORD))
        return owner[0]

    def set(self, case, data, ctx):  # type: ignore[no-untyped-def]
        bearer(case, data)
        # A body generated invalid stays as generated: what it tests is its invalid part.
        negative = case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY)
        if not negative and isinstance(case.body, dict) and "current_password" in case.body:
            case.body["current_password"] = OWNER_PASSWORD


@schemathesis.hook
def after_call(context, case, response):  # type: ignore[no-untyped-def]
    # A passworded operation that succeeded changed the account's password or email, or
    # deleted it; one refused 401 or 403 met an account the administrator disabled or
    # deleted (or a body without the password): the next case registers a fresh account.
    operation_id = case.operation.schema.get_operation_id(case.operation) or ""
    spent = response.status_code < 300 or response.status_code in (401, 403)
    if spent and PASSWORDED.fullmatch(operation_id):
        owner.clear()


@schemathesis.auth(refresh_interval=1)
class SignedUpUser:
    def get(self, case, ctx):  # type: ignore[no-untyped-def]
        return log_in(os.environ["SCHEMATHESIS_EMAIL"], os.environ["SCHEMATHESIS_PASSWORD"])

    def set(self, case, data, ctx):  # type: ignore[no-untyped-def]
        bearer(case, data)

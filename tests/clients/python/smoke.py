"""The smoke flow through a client generated from openapi.yaml with openapi-python-client:
register, log in with the form, create three tasks, page through them two at a time, get,
replace, patch and delete one, share a list with a second account, sync everything and then a
deletion, read one live event, and read a 422, a 404 and a 401 as typed problem documents. Run against a freshly
started server (TASKAPI_URL) and type-checked with `mypy --strict`."""

import json
import os
import time

from taskapi_client import AuthenticatedClient, Client
from taskapi_client.api.auth import login, register
from taskapi_client.api.lists import (
    accept_invitation,
    create_invitation,
    create_list,
    list_invitations,
    list_members,
    remove_member,
)
from taskapi_client.api.sync import sync as sync_feed
from taskapi_client.api.tags import list_tags, rename_tag
from taskapi_client.api.tasks import (
    create_task,
    delete_task,
    get_task,
    list_tasks,
    replace_task,
    update_task,
)
from taskapi_client.api.users import get_current_user
from taskapi_client.models import (
    ChangeKind,
    InvitationInput,
    InvitationPage,
    List,
    ListInput,
    ListRole,
    LoginForm,
    MemberPage,
    Problem,
    RegisterRequest,
    SyncChange,
    SyncPage,
    Task,
    TaskInput,
    TaskPage,
    TaskPatch,
    TaskPriority,
    TaskSort,
    TaskStatus,
    Tag,
    TagPage,
    TagRename,
    Token,
    User,
)
from taskapi_client.types import UNSET, Response, Unset


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"smoke flow failed: {what}")


def problem_of(response: Response[Problem | Task] | Response[Problem | User], status: int) -> Problem:
    check(response.status_code == status, f"status {response.status_code}, expected {status}")
    check(isinstance(response.parsed, Problem), "a typed problem document")
    assert isinstance(response.parsed, Problem)
    return response.parsed


PASSWORD = "correct horse battery staple"


def sign_up(base_url: str, email: str) -> AuthenticatedClient:
    """Registers an account with `email`, logs in with the form and returns its client."""
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    user = register.sync(client=anonymous, body=RegisterRequest(email=email, password=PASSWORD))
    check(isinstance(user, User) and user.email == email, "register returns the account")

    token = login.sync(
        client=anonymous,
        body=LoginForm(username=email, password=PASSWORD, grant_type="password"),
    )
    assert isinstance(token, Token), "login returns a token"
    check(token.token_type == "bearer", "a bearer token")
    return AuthenticatedClient(
        base_url=base_url, token=token.access_token, raise_on_unexpected_status=True
    )


def read_one_event(client: AuthenticatedClient, token: str) -> None:
    """Live events from `token`: a task created now arrives as a `change` event, read with
    the client's own HTTP connection (a generated call would wait for the stream's end)."""
    with client.get_httpx_client().stream("GET", "/events", params={"token": token}) as stream:
        check(stream.status_code == 200, "the event stream opens")
        check(stream.headers["content-type"] == "text/event-stream", "a text/event-stream")
        live = create_task.sync(client=client, body=TaskInput(title="Arrives live"))
        assert isinstance(live, Task), "a task to see live"
        fields: dict[str, str] = {}
        for line in stream.iter_lines():
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
            elif fields.get("event") == "change":
                break
            else:
                fields = {}
    change = SyncChange.from_dict(json.loads(fields["data"]))
    check(change.id == live.id and fields["id"] != "", "the task, live, with its position")


def share_a_list(base_url: str, client: AuthenticatedClient, email: str) -> None:
    """A list shared by email before the second account exists; the invitation waits for
    it, is accepted, and the editor sees and adds to the list's tasks until removed."""
    groceries = create_list.sync(client=client, body=ListInput(name="Groceries"))
    assert isinstance(groceries, List), "a new list"
    check(groceries.role == ListRole.OWNER, "its owner")
    bread = create_task.sync(client=client, body=TaskInput(title="Buy bread", list_id=groceries.id))
    check(isinstance(bread, Task) and bread.list_id == groceries.id, "a task in the list")
    friend_email = f"py-friend-{time.time_ns()}@example.com"
    invited = create_invitation.sync_detailed(
        client=client,
        list_id=groceries.id,
        body=InvitationInput(email=friend_email, role=ListRole.EDITOR),
    )
    check(invited.status_code == 202, "invited (an address with no account yet)")
    friend = sign_up(base_url, friend_email)
    waiting = list_invitations.sync(client=friend)
    assert isinstance(waiting, InvitationPage) and len(waiting.items) == 1, "it waited"
    invitation = waiting.items[0]
    check(invitation.list_name == "Groceries" and invitation.inviter_email == email, "from whom")
    joined = accept_invitation.sync(client=friend, invitation_id=invitation.id)
    assert isinstance(joined, List), "accepted"
    check(joined.id == groceries.id and joined.role == ListRole.EDITOR, "joined as an editor")
    seen = list_tasks.sync(client=friend, list_id=groceries.id)
    assert isinstance(seen, TaskPage), "the list's tasks"
    check([task.title for task in seen.items] == ["Buy bread"], "the shared task")
    butter = create_task.sync_detailed(
        client=friend, body=TaskInput(title="Buy butter", list_id=groceries.id)
    )
    check(butter.status_code == 201, "an editor adds a task")
    members = list_members.sync(client=client, list_id=groceries.id)
    assert isinstance(members, MemberPage), "the members"
    member = next(item for item in members.items if item.email == friend_email)
    check(member.role == ListRole.EDITOR, "the owner sees the editor")
    removed = remove_member.sync_detailed(
        client=client, list_id=groceries.id, user_id=member.user_id
    )
    check(removed.status_code == 204, "removed")
    gone = list_tasks.sync_detailed(client=friend, list_id=groceries.id)
    check(gone.status_code == 404, "a list one was removed from is not found")


def main() -> None:
    base_url = os.environ["TASKAPI_URL"]
    email = f"py-{time.time_ns()}@example.com"
    client = sign_up(base_url, email)

    created: list[Task] = []
    for title in ["Buy milk", "Call the dentist", "Water the plants"]:
        response = create_task.sync_detailed(client=client, body=TaskInput(title=title))
        task = response.parsed
        assert isinstance(task, Task), f"create {title}"
        check(response.status_code == 201, "create answers 201")
        check(response.headers.get("location") == f"/tasks/{task.id}", "Location points at it")
        check(task.status == TaskStatus.TODO and task.priority == TaskPriority.NORMAL, "defaults")
        check(task.description is None and task.completed_at is None, "empty fields are None")
        created.append(task)

    listed: list[Task] = []
    cursor: str | Unset = UNSET
    pages = 0
    while True:
        page = list_tasks.sync(client=client, limit=2, cursor=cursor)
        assert isinstance(page, TaskPage), "a page"
        listed.extend(page.items)
        pages += 1
        if page.next_cursor is None or pages >= 10:
            break
        cursor = page.next_cursor
    check(pages == 2, f"two pages of two, got {pages}")
    check([task.id for task in listed] == [task.id for task in reversed(created)], "newest first")

    first = created[0]
    fetched = get_task.sync(client=client, task_id=first.id)
    check(isinstance(fetched, Task) and fetched.title == "Buy milk", "get returns the task")

    replaced = replace_task.sync(
        client=client,
        task_id=first.id,
        body=TaskInput(
            title="Buy oat milk",
            status=TaskStatus.DONE,
            priority=TaskPriority.HIGH,
            description="2 litres",
        ),
    )
    assert isinstance(replaced, Task), "replace returns the task"
    check(replaced.status == TaskStatus.DONE and replaced.completed_at is not None, "done")

    # A merge patch: None is sent as null and clears the description; the rest stays.
    patched = update_task.sync_detailed(
        client=client, task_id=first.id, body=TaskPatch(description=None)
    )
    assert isinstance(patched.parsed, Task), "patch returns the task"
    check(patched.parsed.description is None, "null cleared the description")
    check(patched.parsed.title == "Buy oat milk", "the title stayed")
    check(patched.headers.get("etag") == '"3"', "the third version")

    # Tags, compared ignoring case; filters with repeated parameters; a sort; a tag rename.
    errand_input = TaskInput(
        title="Post the letter", priority=TaskPriority.URGENT, tags=["Errands", "post"]
    )
    errand = create_task.sync(client=client, body=errand_input, idempotency_key="smoke-errand")
    assert isinstance(errand, Task), "created with tags"
    check(errand.tags == ["Errands", "post"], "tags kept as typed, by name")
    again = create_task.sync(client=client, body=errand_input, idempotency_key="smoke-errand")
    check(isinstance(again, Task) and again.id == errand.id, "a retry creates nothing")
    filtered = list_tasks.sync(
        client=client,
        status=[TaskStatus.TODO, TaskStatus.IN_PROGRESS],
        tag=["ERRANDS"],
        sort=TaskSort.PRIORITY_REVERSED,
    )
    assert isinstance(filtered, TaskPage), "a filtered page"
    check([task.title for task in filtered.items] == ["Post the letter"], "one tagged task")
    found = list_tasks.sync(client=client, q="lett")
    assert isinstance(found, TaskPage), "a search page"
    check(len(found.items) == 1, "a prefix search finds it")
    renamed = rename_tag.sync(client=client, name="errands", body=TagRename(name="Chores"))
    assert isinstance(renamed, Tag), "renamed"
    check(renamed.name == "Chores" and renamed.task_count == 1, "tag renamed")
    tags = list_tags.sync(client=client)
    assert isinstance(tags, TagPage), "a tag page"
    check([tag.name for tag in tags.items] == ["Chores", "post"], "tags listed by name")

    share_a_list(base_url, client, email)

    # Sync: everything the account sees, in pages; then the deletion, as a tombstone.
    replica: dict[str, object] = {}
    token: str | Unset = UNSET
    more = True
    while more:
        synced = sync_feed.sync(client=client, limit=2, token=token)
        assert isinstance(synced, SyncPage), "a sync page"
        for change in synced.changes:
            if change.deleted:
                replica.pop(str(change.id), None)
            else:
                replica[str(change.id)] = change.kind
        token, more = synced.next_token, synced.has_more
    check(str(first.id) in replica, "the replica holds the task")

    deleted = delete_task.sync_detailed(client=client, task_id=first.id)
    check(deleted.status_code == 204, "delete answers 204")
    since = sync_feed.sync(client=client, token=token)
    assert isinstance(since, SyncPage), "the changes since"
    tombstone = next(change for change in since.changes if change.id == first.id)
    check(tombstone.deleted and tombstone.kind == ChangeKind.TASK, "the deletion, as a tombstone")
    read_one_event(client, since.next_token)

    invalid = problem_of(create_task.sync_detailed(client=client, body=TaskInput(title="")), 422)
    errors = invalid.errors
    assert not isinstance(errors, Unset), "the 422 says which fields"
    check("title" in errors.additional_properties, "the 422 names the title")
    problem_of(get_task.sync_detailed(client=client, task_id=first.id), 404)
    forged = AuthenticatedClient(base_url=base_url, token="not-a-token")
    unauthorized = problem_of(get_current_user.sync_detailed(client=forged), 401)
    check(len(unauthorized.type_) > 0, "a problem type")

    print("python: 1 passed, 0 failed")


if __name__ == "__main__":
    main()

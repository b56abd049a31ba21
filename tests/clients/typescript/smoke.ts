// The smoke flow through a client generated from openapi.yaml with openapi-typescript and
// called with openapi-fetch: register, log in with the form, create three tasks, page
// through them two at a time, get, replace, patch and delete one, share a list with a second
// account, and read a 422, a 404 and a 401 as typed problem documents. Run against a freshly
// started server (TASKAPI_URL).
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/taskapi.js";

type Problem = components["schemas"]["Problem"];
type Task = components["schemas"]["Task"];

const configuredUrl = process.env.TASKAPI_URL;
if (!configuredUrl) {
  throw new Error("set TASKAPI_URL to the server under test");
}
const baseUrl: string = configuredUrl;

function check(condition: boolean, what: string): asserts condition {
  if (!condition) {
    throw new Error(`smoke flow failed: ${what}`);
  }
}

function expectProblem(problem: Problem | undefined, status: number, what: string): Problem {
  check(problem !== undefined, `${what}: a problem document`);
  check(problem.status === status, `${what}: status ${problem.status}, expected ${status}`);
  return problem;
}

const anonymous = createClient<paths>({ baseUrl });
const password = "correct horse battery staple";

/** Registers an account with `email`, logs in with the form and returns its client. */
async function signUp(email: string) {
  const registered = await anonymous.POST("/auth/register", { body: { email, password } });
  check(registered.response.status === 201, "register answers 201");
  check(registered.data?.email === email, "the account has the email");

  const login = await anonymous.POST("/auth/login", {
    body: { username: email, password, grant_type: "password" },
    bodySerializer: (form) => new URLSearchParams(Object.entries(form)),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  check(login.data !== undefined, `login answers a token: ${JSON.stringify(login.error)}`);
  check(login.data.token_type === "bearer", "a bearer token");
  const token = login.data.access_token;
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

const email = `ts-${Date.now()}@example.com`;
const client = await signUp(email);

const created: Task[] = [];
for (const title of ["Buy milk", "Call the dentist", "Water the plants"]) {
  const { data, response } = await client.POST("/tasks", { body: { title } });
  check(data !== undefined && response.status === 201, `create ${title}`);
  check(response.headers.get("Location") === `/tasks/${data.id}`, "Location points at it");
  check(data.status === "todo" && data.priority === "normal", "defaults applied");
  check(data.description === null && data.completed_at === null, "empty fields are null");
  created.push(data);
}

const listed: Task[] = [];
let cursor: string | undefined;
let pages = 0;
do {
  const query = cursor === undefined ? { limit: 2 } : { limit: 2, cursor };
  const { data } = await client.GET("/tasks", { params: { query } });
  check(data !== undefined, "a page");
  listed.push(...data.items);
  cursor = data.next_cursor ?? undefined;
  pages += 1;
} while (cursor !== undefined && pages < 10);
check(pages === 2, `two pages of two, got ${pages}`);
check(listed.length === 3, "every task listed once");
check(
  listed.map((task) => task.id).join() === created.map((task) => task.id).reverse().join(),
  "newest first",
);

const first = created[0];
check(first !== undefined, "a task to work on");
const fetched = await client.GET("/tasks/{task_id}", { params: { path: { task_id: first.id } } });
check(fetched.data?.title === "Buy milk", "get returns the task");

const replaced = await client.PUT("/tasks/{task_id}", {
  params: { path: { task_id: first.id } },
  body: { title: "Buy oat milk", status: "done", priority: "high", description: "2 litres" },
});
check(replaced.data?.status === "done", "replaced as done");
check(replaced.data.completed_at !== null, "completion stamped");

// A merge patch: null clears the description; the fields left out stay.
const patched = await client.PATCH("/tasks/{task_id}", {
  params: { path: { task_id: first.id } },
  body: { description: null },
});
check(patched.data?.description === null, "null cleared the description");
check(patched.data.title === "Buy oat milk", "the title stayed");
check(patched.response.headers.get("etag") === '"3"', "the third version");

// Tags, compared ignoring case; filters with repeated parameters; a sort; a tag rename.
const errand = await client.POST("/tasks", {
  body: { title: "Post the letter", priority: "urgent", tags: ["Errands", "post"] },
  headers: { "Idempotency-Key": "smoke-errand" },
});
check(errand.data?.tags.join() === "Errands,post", "tags kept as typed, by name");
const again = await client.POST("/tasks", {
  body: { title: "Post the letter", priority: "urgent", tags: ["Errands", "post"] },
  headers: { "Idempotency-Key": "smoke-errand" },
});
check(again.data?.id === errand.data.id, "a retry with the key creates nothing");
const filtered = await client.GET("/tasks", {
  params: { query: { status: ["todo", "in_progress"], tag: ["ERRANDS"], sort: "-priority" } },
});
check(filtered.data?.items.length === 1, "one open task tagged errands");
check(filtered.data.items[0]?.title === "Post the letter", "the tagged task");
const found = await client.GET("/tasks", { params: { query: { q: "lett" } } });
check(found.data?.items.length === 1, "a prefix search finds it");
const renamed = await client.PATCH("/tags/{name}", {
  params: { path: { name: "errands" } },
  body: { name: "Chores" },
});
check(renamed.data?.name === "Chores" && renamed.data.task_count === 1, "tag renamed");
const tags = await client.GET("/tags", {});
check(tags.data?.items.map((tag) => tag.name).join() === "Chores,post", "tags listed by name");

// Sharing: a list shared by email before the second account exists; the invitation waits
// for it, is accepted, and the editor sees and adds to the list's tasks until removed.
const groceries = await client.POST("/lists", { body: { name: "Groceries" } });
check(groceries.data?.role === "owner" && groceries.response.status === 201, "a new list");
const list_id = groceries.data.id;
const bread = await client.POST("/tasks", { body: { title: "Buy bread", list_id } });
check(bread.data?.list_id === list_id, "a task in the list");
const friendEmail = `ts-friend-${Date.now()}@example.com`;
const invited = await client.POST("/lists/{list_id}/invitations", {
  params: { path: { list_id } },
  body: { email: friendEmail, role: "editor" },
});
check(invited.response.status === 202, "invited (an address with no account yet)");
const friend = await signUp(friendEmail);
const waiting = await friend.GET("/users/me/invitations", {});
const invitation = waiting.data?.items[0];
check(invitation?.list_name === "Groceries" && invitation.inviter_email === email, "it waited");
const joined = await friend.POST("/invitations/{invitation_id}/accept", {
  params: { path: { invitation_id: invitation.id } },
});
check(joined.data?.id === list_id && joined.data.role === "editor", "joined as an editor");
const seen = await friend.GET("/tasks", { params: { query: { list_id } } });
check(seen.data?.items.map((task) => task.title).join() === "Buy bread", "the shared task");
const butter = await friend.POST("/tasks", { body: { title: "Buy butter", list_id } });
check(butter.response.status === 201, "an editor adds a task");
const members = await client.GET("/lists/{list_id}/members", { params: { path: { list_id } } });
const member = members.data?.items.find((item) => item.email === friendEmail);
check(member?.role === "editor", "the owner sees the editor");
const removed = await client.DELETE("/lists/{list_id}/members/{user_id}", {
  params: { path: { list_id, user_id: member.user_id } },
});
check(removed.response.status === 204, "removed");
const gone = await friend.GET("/tasks", { params: { query: { list_id } } });
expectProblem(gone.error, 404, "a list one was removed from");

// Sync: everything the account sees, in pages; then the deletion below, as a tombstone.
const replica = new Map<string, unknown>();
let token: string | undefined;
for (let more = true; more; ) {
  const query = token === undefined ? { limit: 2 } : { limit: 2, token };
  const page = await client.GET("/sync", { params: { query } });
  check(page.data !== undefined, "a sync page");
  for (const change of page.data.changes) {
    if (change.deleted) replica.delete(change.id);
    else replica.set(change.id, change.task ?? change.list);
  }
  token = page.data.next_token;
  more = page.data.has_more;
}
check(replica.has(first.id), "the replica holds the task");

const deleted = await client.DELETE("/tasks/{task_id}", {
  params: { path: { task_id: first.id } },
});
check(deleted.response.status === 204, "delete answers 204");
check(token !== undefined, "a sync token");
const since = await client.GET("/sync", { params: { query: { token } } });
const tombstone = since.data?.changes.find((change) => change.id === first.id);
check(tombstone?.deleted === true && tombstone.kind === "task", "the deletion, as a tombstone");

// Live events from the replica's position: a task created now arrives as one.
type SyncChange = components["schemas"]["SyncChange"];
check(since.data !== undefined, "the changes since");
const stream = await client.GET("/events", {
  params: { query: { token: since.data.next_token } },
  parseAs: "stream",
});
check(stream.response.status === 200 && stream.data != null, "the event stream opens");
check(
  stream.response.headers.get("content-type") === "text/event-stream",
  "a text/event-stream",
);
const live = await client.POST("/tasks", { body: { title: "Arrives live" } });
check(live.data !== undefined, "a task to see live");
const reader = stream.data.pipeThrough(new TextDecoderStream()).getReader();
let received = "";
let event: { id: string; change: SyncChange } | undefined;
const deadline = Date.now() + 10_000;
while (event === undefined) {
  check(Date.now() < deadline, "an event within 10 s");
  const { value, done } = await reader.read();
  check(!done, "the stream stays open");
  received += value.replaceAll("\r\n", "\n");
  for (let end = received.indexOf("\n\n"); end >= 0; end = received.indexOf("\n\n")) {
    const lines = received.slice(0, end).split("\n");
    received = received.slice(end + 2);
    const field = (name: string) =>
      lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
    const data = field("data");
    if (field("event") === "change" && data !== undefined) {
      event = { id: field("id") ?? "", change: JSON.parse(data) as SyncChange };
      break;
    }
  }
}
await reader.cancel();
check(event.change.id === live.data.id && event.change.task?.title === "Arrives live", "live");
check(event.id.length > 0, "an event's id: where to resume");

const invalid = await client.POST("/tasks", { body: { title: "" } });
const validation = expectProblem(invalid.error, 422, "an empty title");
check(validation.errors?.["title"] !== undefined, "the 422 names the field");

const missing = await client.GET("/tasks/{task_id}", { params: { path: { task_id: first.id } } });
expectProblem(missing.error, 404, "a deleted task");

const refused = await anonymous.GET("/users/me");
const unauthorized = expectProblem(refused.error, 401, "no token");
check(unauthorized.type.length > 0, "a problem type");

console.log("typescript: 1 passed, 0 failed");

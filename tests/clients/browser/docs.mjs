// The API in headless Chromium. The documentation pages as a person uses them: on /docs, log
// in through Authorize (email and password, nothing else asked), try GET /tasks and get 200;
// /redoc lists the operations. Then a page served on another origin (PAGE_ORIGIN, an
// `http://127.0.0.1:<port>` the server allows through TASKAPI_CORS_ORIGINS) calls the API
// as a single-page app would: a conditional GET answered 304, a PATCH with `If-Match`
// answered 200, and 412 when its ETag is stale. No page may log a console error or fail a
// request it does not mean to. Run against a freshly started server (TASKAPI_URL); CHROMIUM
// names the browser binary.
import { createServer } from "node:http";
import { chromium } from "playwright-core";

const baseUrl = process.env.TASKAPI_URL;
if (!baseUrl) {
  throw new Error("set TASKAPI_URL to the server under test");
}
const pageOrigin = process.env.PAGE_ORIGIN;
if (!pageOrigin) {
  throw new Error("set PAGE_ORIGIN to an origin the server allows, on a free port of 127.0.0.1");
}
const email = `browser-${Date.now()}@example.com`;
const password = "correct horse battery staple";

function check(condition, what) {
  if (!condition) {
    throw new Error(`browser: ${what}`);
  }
}

const registered = await fetch(`${baseUrl}/auth/register`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ email, password }),
});
check(registered.status === 201, `register answered ${registered.status}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: 30_000,
});
// A blank page at the other origin: the browser judges every request it makes by CORS.
const pageServer = createServer((_, response) => {
  response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>app</title>");
});
await new Promise((resolve) => pageServer.listen(new URL(pageOrigin).port, "127.0.0.1", resolve));
const problems = [];
// A page watched for what it logs and what fails. Chromium logs every 4xx as a console
// error: `expected` lists those the page means to get.
async function watchedPage(expected = []) {
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  page.on("console", (message) => {
    const text = message.text();
    const meant = expected.some((status) => text.includes(`status of ${status}`));
    if (message.type() === "error" && !meant) problems.push(`console: ${text}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  // Chromium ends a fetch answered with a null-body status (a 304, say) in ERR_ABORTED
  // although the page's fetch resolves normally (microsoft/playwright#32752): not a failure.
  const answered = new WeakMap();
  page.on("response", (response) => answered.set(response.request(), response.status()));
  page.on("requestfailed", (request) => {
    if (![204, 205, 304].includes(answered.get(request))) {
      const error = request.failure()?.errorText;
      problems.push(`failed: ${request.method()} ${request.url()}: ${error}`);
    }
  });
  return page;
}

try {
  const page = await watchedPage();

  await page.goto(`${baseUrl}/docs`);
  check((await page.title()).startsWith("taskapi"), "the Swagger UI page names the API");
  await page.getByRole("button", { name: "Authorize" }).first().click();
  await page.locator("#oauth_username").fill(email);
  await page.locator("#oauth_password").fill(password);
  for (const field of ["clientId", "clientSecret", "passwordType"]) {
    const input = page.locator(`.auth-container [data-name="${field}"]`).first();
    check(!(await input.isVisible()), `Authorize asks only for a username and a password, not ${field}`);
  }
  const login = page.waitForResponse((response) => response.url().endsWith("/auth/login"));
  await page.locator(".auth-btn-wrapper .authorize").click();
  check((await login).status() === 200, "Authorize logged in");
  await page.locator(".auth-btn-wrapper .btn-done").click();

  await page.locator("#operations-Tasks-list_tasks .opblock-summary").click();
  await page.locator("#operations-Tasks-list_tasks .try-out__btn").click();
  const listed = page.waitForResponse((response) => new URL(response.url()).pathname === "/tasks");
  await page.locator("#operations-Tasks-list_tasks .execute").click();
  check((await listed).status() === 200, "Try it out on GET /tasks answered 200");
  await page
    .locator("#operations-Tasks-list_tasks .live-responses-table .response-col_status")
    .filter({ hasText: "200" })
    .first()
    .waitFor();
  if (process.env.SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.SCREENSHOTS}/docs.png`, fullPage: false });
  }

  await page.goto(`${baseUrl}/redoc`);
  check((await page.title()).startsWith("taskapi"), "the ReDoc page names the API");
  for (const summary of ["Create a task", "List tasks", "Log in", "Readiness"]) {
    await page.locator("h2").filter({ hasText: summary }).first().waitFor();
  }
  if (process.env.SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.SCREENSHOTS}/redoc.png`, fullPage: false });
  }

  // The stale PATCH is meant to get its 412.
  const app = await watchedPage([412]);
  await app.goto(`${pageOrigin}/`);
  check(new URL(app.url()).origin !== new URL(baseUrl).origin, "the page is on another origin");
  const seen = await app
    .evaluate(crossOrigin, { api: baseUrl, email: `cross-${Date.now()}@example.com`, password })
    .catch((error) => {
      // The console says why the browser refused it.
      throw new Error(`cross-origin: ${error.message}\n${problems.join("\n")}`);
    });
  check(seen.registered === 201, `cross-origin register answered ${seen.registered}`);
  check(seen.loggedIn === 200, `cross-origin login answered ${seen.loggedIn}`);
  check(seen.created === 201, `cross-origin create answered ${seen.created}`);
  check(seen.fetched === 200, `cross-origin GET answered ${seen.fetched}`);
  check(seen.fetchedTitle === "Made on another origin", `GET read the task: ${seen.fetchedTitle}`);
  check(seen.etag !== null, "the page can read ETag");
  check(seen.unchanged === 304, `cross-origin GET with If-None-Match answered ${seen.unchanged}`);
  check(seen.patched === 200, `cross-origin PATCH with If-Match answered ${seen.patched}`);
  check(seen.title === "Patched from another origin", `the PATCH applied: ${seen.title}`);
  check(seen.newEtag !== null && seen.newEtag !== seen.etag, "the PATCH answered a new ETag");
  check(seen.stale === 412, `cross-origin PATCH with a stale If-Match answered ${seen.stale}`);
} finally {
  await browser.close();
  pageServer.close();
}
check(problems.length === 0, `no console errors or failed requests:\n${problems.join("\n")}`);
console.log("browser: 2 passed, 0 failed");

// Runs in the page at PAGE_ORIGIN, so every request is cross-origin: those with a JSON body,
// a bearer token, `If-None-Match` or `If-Match` are preflighted. A request CORS refuses
// rejects; the error names it.
async function crossOrigin({ api, email, password }) {
  const call = (what, path, init) =>
    fetch(`${api}${path}`, init).catch((error) => {
      throw new Error(`${what}: ${error.message}`);
    });
  const seen = {};
  const registered = await call("register", "/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  seen.registered = registered.status;
  const login = await call("login", "/auth/login", {
    method: "POST",
    body: new URLSearchParams({ username: email, password, grant_type: "password" }),
  });
  seen.loggedIn = login.status;
  const bearer = { authorization: `Bearer ${(await login.json()).access_token}` };

  const created = await call("create", "/tasks", {
    method: "POST",
    headers: { ...bearer, "content-type": "application/json" },
    body: JSON.stringify({ title: "Made on another origin" }),
  });
  seen.created = created.status;
  const path = `/tasks/${(await created.json()).id}`;
  const fetched = await call("GET", path, { headers: bearer });
  seen.fetched = fetched.status;
  seen.etag = fetched.headers.get("etag");
  seen.fetchedTitle = (await fetched.json()).title;
  const unchanged = await call("conditional GET", path, {
    headers: { ...bearer, "if-none-match": seen.etag },
  });
  seen.unchanged = unchanged.status;

  const patch = (what, etag) =>
    call(what, path, {
      method: "PATCH",
      headers: { ...bearer, "if-match": etag, "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ title: "Patched from another origin" }),
    });
  const patched = await patch("PATCH", seen.etag);
  seen.patched = patched.status;
  seen.newEtag = patched.headers.get("etag");
  seen.title = (await patched.json()).title;
  seen.stale = (await patch("stale PATCH", seen.etag)).status;
  return seen;
}

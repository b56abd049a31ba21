// The documentation pages as a person uses them, in headless Chromium: on /docs, log in
// through Authorize (email and password, nothing else asked), try GET /tasks and get 200;
// /redoc lists the operations. Neither page may log a console error or fail a request.
// Run against a freshly started server (TASKAPI_URL); CHROMIUM names the browser binary.
import { chromium } from "playwright-core";

const baseUrl = process.env.TASKAPI_URL;
if (!baseUrl) {
  throw new Error("set TASKAPI_URL to the server under test");
}
const email = `browser-${Date.now()}@example.com`;
const password = "correct horse battery staple";

function check(condition, what) {
  if (!condition) {
    throw new Error(`docs pages: ${what}`);
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
const problems = [];
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`failed: ${request.url()}`));

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
} finally {
  await browser.close();
}
check(problems.length === 0, `no console errors or failed requests:\n${problems.join("\n")}`);
console.log("browser: 1 passed, 0 failed");

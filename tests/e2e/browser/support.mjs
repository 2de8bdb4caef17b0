// What the browser tests share (web.test.mjs, log.test.mjs, media.test.mjs): the real server
// and Chromium, pages with their own cookies, signing in through the UI, the accessible names
// of the web client's controls (docs/api.md and the public contract, "Web client"), the
// axe-core audit, and the diagnosis of a failure.
//
// The real server binary (PARLEY_BINARY, else build/parley) serves the built client
// (PARLEY_WEB_ROOT, else web/dist) and real Chromium (PARLEY_CHROMIUM, else Debian's
// /usr/bin/chromium) drives it through playwright-core, which is installed with the other
// end-to-end dependencies in ../node/node_modules. Nothing sleeps to synchronise: every wait
// is a Playwright auto-waiting locator (or a polled page condition) with a generous timeout,
// reached only when something is broken.
//
// Each test file is one process (node --test) with one server and one browser: `startSuite()`
// in its `before`, `stopSuite()` in its `after`. `server` and `browser` are live bindings.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { Parley } from "../node/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

export const CHROMIUM = process.env.PARLEY_CHROMIUM || "/usr/bin/chromium";
export const WEB_ROOT = path.resolve(process.env.PARLEY_WEB_ROOT || path.resolve(here, "../../../web/dist"));
export const SCREENSHOTS = path.resolve(process.env.PARLEY_SCREENSHOTS || path.join(here, "screenshots"));
export const WAIT = 30_000; // ms for any one expectation; only reached when something is broken
export const TEST_TIMEOUT = 120_000;

// Fail loudly (never skip) when what the tests need is missing.
if (!existsSync(CHROMIUM)) {
  throw new Error(
    `Chromium not found at ${CHROMIUM}: the browser tests need it (Debian: apt-get install chromium; ` +
      `or set PARLEY_CHROMIUM to a Chromium/Chrome executable).`);
}
if (!existsSync(path.join(WEB_ROOT, "index.html"))) {
  throw new Error(`no built web client at ${WEB_ROOT} (index.html missing): run \`make web\` or set PARLEY_WEB_ROOT.`);
}
let chromium;
let axeSource;
try {
  // playwright-core and axe-core live in ../node/node_modules (tests/e2e/node/package.json).
  const require = createRequire(path.resolve(here, "../node/package.json"));
  ({ chromium } = require("playwright-core"));
  axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
} catch (error) {
  throw new Error(`playwright-core or axe-core is not installed: run \`npm ci\` in tests/e2e/node (${error.message})`);
}

export const people = {
  alice: { phone: "+14155550101", name: "Alice Archer" },
  bob: { phone: "+14155550102", name: "Bob Baker" },
  carol: { phone: "+14155550103", name: "Carol Clark" },
  dave: { phone: "+14155550104", name: "Dave Dunn" },
};

export let server;
export let browser;
export const pageErrors = []; // uncaught exceptions in any page: none are expected
const requestsInFlight = new Map(); // page -> Map(request -> when it started)

/** Starts the server (serving the built client) and Chromium; creates SCREENSHOTS. */
export async function startSuite() {
  server = await Parley.start(["--web-root", WEB_ROOT]);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
}

export async function stopSuite() {
  await browser?.close();
  await server?.stop();
}

/** A fresh browser context (its own cookies and storage) and page. */
export async function newPage(options = {}) {
  const context = await browser.newContext({ locale: "en-US", ...options });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${page.url()}: ${error.stack || error.message}`));
  // Requests still without an answer, for the diagnosis of a failure.
  const inFlight = new Map();
  page.on("request", (request) => inFlight.set(request, Date.now()));
  page.on("requestfinished", (request) => inFlight.delete(request));
  page.on("requestfailed", (request) => inFlight.delete(request));
  requestsInFlight.set(page, inFlight);
  return { context, page };
}

/** Waits until `locator` (one element) is in the state wanted (default: visible). */
export function shown(locator, state = "visible") {
  return locator.waitFor({ state, timeout: WAIT });
}

/** Signs `person` in through the UI with the code the development sender logged. */
export async function signIn(page, person) {
  await page.goto(server.url + "/");
  await page.getByLabel("Phone number", { exact: true }).fill(person.phone);
  await page.getByRole("button", { name: "Send code", exact: true }).click();
  const code = await server.waitForCode(person.phone);
  await page.getByLabel("Code", { exact: true }).fill(code);
  await page.getByRole("button", { name: "Verify", exact: true }).click();
  // A new number: the app asks for a name, then Verify again with the same code.
  const name = page.getByLabel("Your name", { exact: true });
  const logOut = page.getByRole("button", { name: "Log out", exact: true });
  await shown(name.or(logOut).first());
  if (await name.isVisible()) {
    await name.fill(person.name);
    await page.getByRole("button", { name: "Verify", exact: true }).click();
  }
  await shown(logOut);
}

/** Opens a page each for Alice and Bob (kept in `s.alice` and `s.bob`: {context, page}), signs
 *  both in through the UI and has each add the other as a contact. Resolves with their pages. */
export async function aliceAndBobAsContacts(s) {
  for (const key of ["alice", "bob"]) s[key] = await newPage();
  const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
  await Promise.all([signIn(alice, people.alice), signIn(bob, people.bob)]);
  await addContact(alice, people.bob);
  await addContact(bob, people.alice);
  return { alice, bob };
}

/** Adds a contact by phone number; resolves once it is in the list under its name. */
export async function addContact(page, person) {
  await page.getByLabel("Contact phone number", { exact: true }).fill(person.phone);
  await page.getByRole("button", { name: "Add contact", exact: true }).click();
  await shown(conversationLink(page, person.name));
}

/** The entry of the conversation list (a contact, a conversation or a group) named `name`:
 *  a link whose accessible name is exactly that name. */
export function conversationLink(page, name) {
  return page.getByRole("navigation", { name: "Conversation list" }).getByRole("link", { name, exact: true });
}

/** The whole row of that entry: the link and what describes it (last message, time, unread). */
export function conversationRow(page, name) {
  return page.getByRole("navigation", { name: "Conversation list" }).locator(".conv")
    .filter({ has: page.getByRole("link", { name, exact: true }) });
}

/** The open conversation, a region named after the contact or group. */
export function chat(page, title) {
  return page.getByRole("region", { name: title, exact: true });
}

/** The shown message (a list item) whose text includes `body`. */
export function message(page, body) {
  return page.getByRole("listitem").filter({ hasText: body });
}

/** The delivery state of one's own message, as announced to a screen reader (the status
 *  icon's visually hidden label: Pending, Sent, Delivered, Read, Not sent). */
export function status(item, label) {
  return item.getByText(label, { exact: true });
}

export async function send(page, body) {
  await page.getByLabel("Message", { exact: true }).fill(body);
  await page.getByRole("button", { name: "Send", exact: true }).click();
}

/** Opens the conversation `title` from the list; resolves with its id (from the URL). */
export async function openConversation(page, title) {
  await conversationLink(page, title).click();
  await shown(chat(page, title));
  return openId(page);
}

/** Creates the group `title` with `members` (people) through New group; resolves with its id
 *  once it is open. */
export async function createGroup(page, title, members) {
  await page.getByRole("button", { name: "New group", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: "New group", exact: true });
  await dialog.getByLabel("Group title", { exact: true }).fill(title);
  for (const member of members) await dialog.getByRole("checkbox", { name: member.name, exact: true }).check();
  await dialog.getByRole("button", { name: "Create group", exact: true }).click();
  await shown(dialog, "hidden");
  await shown(chat(page, title));
  return openId(page);
}

/** The id of the conversation open in `page`, once its address (/c/{id}) shows it. */
async function openId(page) {
  await page.waitForURL(/\/c\/\d+$/, { timeout: WAIT });
  return Number(/\/c\/(\d+)$/.exec(page.url())[1]);
}

/** The bodies, in the order shown, of the messages in `page` whose text includes `marker`. */
export async function bodiesShown(page, marker) {
  const texts = await page.getByRole("listitem").filter({ hasText: marker }).allInnerTexts();
  return texts.map((t) => new RegExp(`${marker}\\S*`).exec(t)[0]);
}

/** The violations axe-core finds in `page` as it is now, every rule on (the experimental ones
 *  too, such as label-content-name-mismatch): [{id, impact, help, targets}]. axe is evaluated
 *  through the DevTools protocol, so the page's Content-Security-Policy stays as it is. */
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const experimental = window.axe.getRules(["experimental"]).map((rule) => [rule.ruleId, { enabled: true }]);
    const result = await window.axe.run(document, { rules: Object.fromEntries(experimental) });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((node) => node.target.join(" ")),
    }));
  });
}

/** Fails when axe-core finds a critical, serious or moderate violation in `page` (`where`
 *  names it); minor ones are printed. */
export async function assertAccessible(page, where) {
  const violations = await axeViolations(page);
  const grave = violations.filter((v) => ["critical", "serious", "moderate"].includes(v.impact));
  assert.deepEqual(grave, [], `axe-core on ${where}: ${JSON.stringify(violations, null, 1)}`);
  for (const minor of violations) console.log(`# axe-core on ${where}, minor: ${JSON.stringify(minor)}`);
}

/** What every open page shows (URL and text; a screenshot in SCREENSHOTS), for a failure. */
export async function diagnose(scenarioName) {
  let text = "";
  const slug = scenarioName.replace(/[^a-z0-9]+/gi, "-").slice(0, 40);
  for (const [i, context] of (browser?.contexts() ?? []).entries()) {
    for (const [j, page] of context.pages().entries()) {
      try {
        const file = path.join(SCREENSHOTS, `failure-${slug}-${i}-${j}.png`);
        await page.screenshot({ path: file, timeout: 5000 });
        const body = await page.evaluate(() => document.body.innerText);
        const waiting = [...(requestsInFlight.get(page) ?? new Map())]
          .map(([request, since]) => `${request.method()} ${request.url()} (for ${Date.now() - since} ms)`);
        text += `\n--- page ${i}.${j} ${page.url()} (${file}) ---\n${body.slice(0, 1500)}` +
          `\n--- requests without an answer: ${waiting.length ? "\n" + waiting.join("\n") : "none"}`;
      } catch (error) {
        text += `\n--- page ${i}.${j} ${page.url()}: ${error.message.split("\n")[0]}`;
      }
    }
  }
  return text;
}

/** A test (call it inside a describe) that, on failure, adds what every page shows and the
 *  end of the server log to the error. */
export function scenario(name, body) {
  test(name, { timeout: TEST_TIMEOUT }, async () => {
    try {
      await body();
    } catch (error) {
      error.message += await diagnose(name);
      error.message += `\n--- server log (last 40 lines) ---\n${server?.lines.slice(-40).join("\n")}`;
      throw error;
    }
  });
}

/** Stops the server (its database and port are kept), runs `body` while nothing answers
 *  there, then starts the server again on the same port with the same database (the origin,
 *  and so the pages' service workers and storage, stay the same). */
export async function whileServerStopped(body) {
  const { port, directory } = server;
  server.ownsDirectory = false; // kept for the next start, which owns it from then on
  await server.stop();
  try {
    await body();
  } finally {
    server = await Parley.start(["--web-root", WEB_ROOT], { listen: `127.0.0.1:${port}`, directory });
    server.ownsDirectory = true;
  }
}

/** Resolves with `fn(arg)` evaluated in `page` once `done` holds for its result; rejects after
 *  WAIT with the last result. For state the page keeps (its storage, the worker's
 *  notifications): `fn` runs again each time the app announces a change ("parley:changed",
 *  web/src/state.ts), which the page reports to the test as a console message, or when a new
 *  document loads. The test listens before `fn` runs, so a change while it runs is not missed. */
export async function pollPage(page, fn, arg, done, what) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const timeout = Math.max(deadline - Date.now(), 1);
    const waits = [
      page.waitForEvent("console", { predicate: (message) => message.text() === CHANGED, timeout }),
      page.waitForEvent("load", { timeout }),
    ];
    for (const wait of waits) wait.catch(() => undefined); // the other one, or after `done`
    await page.evaluate(reportChanges, CHANGED); // after listening: a new document is a load
    const value = await page.evaluate(fn, arg);
    if (done(value)) return value;
    try {
      await Promise.any(waits);
    } catch {
      throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    }
  }
}

const CHANGED = "parley-test: page changed";

/** In the page (once per document): each "parley:changed" event logs `marker` to the console,
 *  where the test hears it. */
function reportChanges(marker) {
  if (window.__reportsChanges) return;
  window.__reportsChanges = true;
  window.addEventListener("parley:changed", () => console.debug(marker));
}

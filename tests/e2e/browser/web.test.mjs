// Browser end-to-end tests of Parley's web client (node's built-in test runner, Node 18+).
//
// The real server binary (PARLEY_BINARY, else build/parley) serves the built client
// (PARLEY_WEB_ROOT, else web/dist) and real Chromium (PARLEY_CHROMIUM, else Debian's
// /usr/bin/chromium) drives it through playwright-core, which is installed with the other
// end-to-end dependencies in ../node/node_modules. Controls are found by their accessible
// names (docs/api.md and the public contract, "Web client"); nothing sleeps to synchronise: every wait is a
// Playwright auto-waiting locator with a generous timeout, reached only when something is
// broken. The scenarios run in order on one server and share the people signed in first.
//
//   cd tests/e2e/browser && PARLEY_BINARY=../../../build/parley node --test web.test.mjs
//
// Screenshots go to ./screenshots (or $PARLEY_SCREENSHOTS), and on a failure one of each
// open page (failure-*.png), whose text and unanswered requests are added to the error.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { Parley } from "../node/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

const CHROMIUM = process.env.PARLEY_CHROMIUM || "/usr/bin/chromium";
const WEB_ROOT = path.resolve(process.env.PARLEY_WEB_ROOT || path.resolve(here, "../../../web/dist"));
const SCREENSHOTS = path.resolve(process.env.PARLEY_SCREENSHOTS || path.join(here, "screenshots"));
const WAIT = 30_000; // ms for any one expectation; only reached when something is broken
const TEST_TIMEOUT = 120_000;

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

const people = {
  alice: { phone: "+14155550101", name: "Alice Archer" },
  bob: { phone: "+14155550102", name: "Bob Baker" },
  carol: { phone: "+14155550103", name: "Carol Clark" },
};

let server;
let browser;
const pageErrors = []; // uncaught exceptions in any page: none are expected
const requestsInFlight = new Map(); // page -> Map(request -> when it started)

/** A fresh browser context (its own cookies and storage) and page. */
async function newPage(options = {}) {
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
function shown(locator, state = "visible") {
  return locator.waitFor({ state, timeout: WAIT });
}

/** Signs `person` in through the UI with the code the development sender logged. */
async function signIn(page, person) {
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

/** Adds a contact by phone number; resolves once it is in the list under its name. */
async function addContact(page, person) {
  await page.getByLabel("Contact phone number", { exact: true }).fill(person.phone);
  await page.getByRole("button", { name: "Add contact", exact: true }).click();
  await shown(conversationLink(page, person.name));
}

/** The entry of the conversation list (a contact, a conversation or a group) named `name`:
 *  a link whose accessible name is exactly that name. */
function conversationLink(page, name) {
  return page.getByRole("navigation", { name: "Conversation list" }).getByRole("link", { name, exact: true });
}

/** The whole row of that entry: the link and what describes it (last message, time, unread). */
function conversationRow(page, name) {
  return page.getByRole("navigation", { name: "Conversation list" }).locator(".conv")
    .filter({ has: page.getByRole("link", { name, exact: true }) });
}

/** The open conversation, a region named after the contact or group. */
function chat(page, title) {
  return page.getByRole("region", { name: title, exact: true });
}

/** The shown message (a list item) whose text includes `body`. */
function message(page, body) {
  return page.getByRole("listitem").filter({ hasText: body });
}

/** The delivery state of one's own message, as announced to a screen reader (the status
 *  icon's visually hidden label: Pending, Sent, Delivered, Read, Not sent). */
function status(item, label) {
  return item.getByText(label, { exact: true });
}

async function send(page, body) {
  await page.getByLabel("Message", { exact: true }).fill(body);
  await page.getByRole("button", { name: "Send", exact: true }).click();
}

async function openConversation(page, title) {
  await conversationLink(page, title).click();
  await shown(chat(page, title));
  await page.waitForURL(/\/c\/\d+$/, { timeout: WAIT });
  return Number(/\/c\/(\d+)$/.exec(page.url())[1]);
}

/** The bodies, in the order shown, of the messages in `page` whose text includes `marker`. */
async function bodiesShown(page, marker) {
  const texts = await page.getByRole("listitem").filter({ hasText: marker }).allInnerTexts();
  return texts.map((t) => new RegExp(`${marker}\\S*`).exec(t)[0]);
}

/** The violations axe-core finds in `page` as it is now, every rule on (the experimental ones
 *  too, such as label-content-name-mismatch): [{id, impact, help, targets}]. axe is evaluated
 *  through the DevTools protocol, so the page's Content-Security-Policy stays as it is. */
async function axeViolations(page) {
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
async function assertAccessible(page, where) {
  const violations = await axeViolations(page);
  const grave = violations.filter((v) => ["critical", "serious", "moderate"].includes(v.impact));
  assert.deepEqual(grave, [], `axe-core on ${where}: ${JSON.stringify(violations, null, 1)}`);
  for (const minor of violations) console.log(`# axe-core on ${where}, minor: ${JSON.stringify(minor)}`);
}

/** What every open page shows (URL and text; a screenshot in SCREENSHOTS), for a failure. */
async function diagnose(scenarioName) {
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

describe("web client in Chromium", { timeout: 8 * TEST_TIMEOUT }, () => {
  const s = {}; // what the scenarios share: pages and contexts per person, conversation ids

  before(async () => {
    server = await Parley.start(["--web-root", WEB_ROOT]);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Runs a scenario; on failure adds the end of the server log to the error. */
  function scenario(name, body) {
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

  scenario("two people sign in, add each other and chat in real time with receipts and typing", async () => {
    for (const key of ["alice", "bob"]) s[key] = await newPage();
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    await Promise.all([signIn(alice, people.alice), signIn(bob, people.bob)]);

    await addContact(alice, people.bob);
    await addContact(bob, people.alice);

    // Alice opens the conversation; Bob stays on his list, so the message reaches his
    // browser (delivered) without being read.
    s.direct = await openConversation(alice, people.bob.name);
    const first = "Hello Bob, this is Alice";
    await send(alice, first);
    const mine = message(alice, first);
    await shown(mine);
    await shown(status(mine, "Delivered"), "attached");
    // The conversation appears in Bob's list, with the message as its preview.
    await shown(conversationRow(bob, people.alice.name).filter({ hasText: first }));
    // The entry's accessible description is that preview (its name stays the contact's).
    const described = await conversationLink(bob, people.alice.name).evaluate(
      (link) => document.getElementById(link.getAttribute("aria-describedby"))?.textContent ?? "");
    assert.match(described, new RegExp(first));
    assert.equal(await status(mine, "Read").count(), 0, "read before Bob opened the conversation");

    // Bob opens it: he sees the message and Alice sees it read.
    assert.equal(await openConversation(bob, people.alice.name), s.direct);
    await shown(message(bob, first));
    await shown(status(mine, "Read"), "attached");

    // Bob types: Alice sees the typing indicator in the conversation's header.
    const reply = "Hi Alice! Bob here";
    await bob.getByLabel("Message", { exact: true }).pressSequentially("Hi Ali");
    await shown(chat(alice, people.bob.name).getByText("typing…", { exact: true }));
    await bob.getByLabel("Message", { exact: true }).fill(reply);
    await bob.getByRole("button", { name: "Send", exact: true }).click();
    await shown(message(alice, reply));
    await shown(chat(alice, people.bob.name).getByText("typing…", { exact: true }), "hidden");
    // Alice has the conversation open: Bob's message becomes read at once.
    await shown(status(message(bob, reply), "Read"), "attached");
    // One copy of each message on each side.
    for (const page of [alice, bob]) {
      assert.equal(await message(page, first).count(), 1);
      assert.equal(await message(page, reply).count(), 1);
    }
  });

  scenario("a group of three: everyone sees a message", async () => {
    s.carol = await newPage();
    const { alice, bob, carol } = { alice: s.alice.page, bob: s.bob.page, carol: s.carol.page };
    await signIn(carol, people.carol);
    await addContact(alice, people.carol);

    const title = "Weekend trip";
    await alice.getByRole("button", { name: "New group", exact: true }).click();
    const dialog = alice.getByRole("dialog", { name: "New group", exact: true });
    await dialog.getByLabel("Group title", { exact: true }).fill(title);
    await dialog.getByRole("checkbox", { name: people.bob.name, exact: true }).check();
    await dialog.getByRole("checkbox", { name: people.carol.name, exact: true }).check();
    await dialog.getByRole("button", { name: "Create group", exact: true }).click();
    await shown(dialog, "hidden");
    await shown(chat(alice, title));
    await alice.waitForURL(/\/c\/\d+$/, { timeout: WAIT });
    s.group = Number(/\/c\/(\d+)$/.exec(alice.url())[1]);

    const body = "Group hello from Alice";
    await send(alice, body);
    await shown(message(alice, body));
    for (const page of [bob, carol]) {
      assert.equal(await openConversation(page, title), s.group);
      await shown(message(page, body));
      assert.equal(await message(page, body).count(), 1);
    }
    // And an answer from Carol reaches both others, under her name.
    const answer = "Carol says hi to the group";
    await send(carol, answer);
    for (const page of [alice, bob]) {
      await shown(message(page, answer));
      await shown(message(page, answer).getByText(people.carol.name, { exact: true }));
    }
    // Alice and Bob both have it open: Carol's message is read by everyone.
    await shown(status(message(carol, answer), "Read"), "attached");
  });

  scenario("markup in a message is shown as text and runs nothing", async () => {
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    await openConversation(alice, people.bob.name);
    await openConversation(bob, people.alice.name);
    const markup = "<img src=x onerror=window.__pwned=1><b>bold</b><script>window.__pwned=2</script>";
    await send(alice, markup);
    for (const page of [alice, bob]) {
      const item = message(page, markup); // the literal text, angle brackets included
      await shown(item);
      assert.equal(await item.getByRole("img").count(), 0);
      assert.equal(await item.locator("b, img, script").count(), 0, "markup became elements");
      assert.equal(await page.locator("img").count(), 0, "an <img> element exists in the page");
      assert.equal(await page.evaluate(() => window.__pwned), undefined, "the markup ran");
      // The conversation list's preview shows it as text too.
      const row = conversationRow(page, page === alice ? people.bob.name : people.alice.name);
      assert.equal(await row.locator("b, img").count(), 0);
    }
  });

  scenario("messages typed while offline arrive once each, in order, after reconnecting", async () => {
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    await openConversation(alice, people.bob.name);
    await openConversation(bob, people.alice.name);
    const reconnecting = alice.getByRole("status").filter({ hasText: "Reconnecting…" });

    await s.alice.context.setOffline(true);
    await shown(reconnecting);
    const bodies = ["offline-1-first", "offline-2-second", "offline-3-third"];
    for (const body of bodies) {
      await send(alice, body);
      await shown(status(message(alice, body), "Pending"), "attached");
    }
    await shown(alice.getByRole("status").filter({ hasText: "3 messages waiting to be sent." }));
    await alice.screenshot({ path: path.join(SCREENSHOTS, "offline-desktop-light.png") });

    await s.alice.context.setOffline(false);
    await shown(reconnecting, "hidden");
    // A message sent after the reconnection: once Bob has it, everything before it is in.
    const after = "offline-4-after-reconnect";
    await send(alice, after);
    await shown(message(bob, after));
    for (const body of bodies) await shown(status(message(alice, body), "Read"), "attached");
    const expected = [...bodies, after];
    for (const [page, who] of [[bob, "Bob (receiver)"], [alice, "Alice (sender)"]]) {
      assert.deepEqual(await bodiesShown(page, "offline-"), expected, `${who}: each message once, in order`);
    }
  });

  scenario("a reload keeps the session, the open conversation and its history", async () => {
    const { bob } = { bob: s.bob.page };
    await openConversation(bob, people.alice.name);
    const url = bob.url();
    assert.match(url, new RegExp(`/c/${s.direct}$`));
    await bob.reload();
    assert.equal(bob.url(), url);
    await shown(bob.getByRole("button", { name: "Log out", exact: true }));
    await shown(chat(bob, people.alice.name));
    for (const body of ["Hello Bob, this is Alice", "Hi Alice! Bob here", "offline-4-after-reconnect"]) {
      await shown(message(bob, body));
      assert.equal(await message(bob, body).count(), 1);
    }
    await shown(conversationLink(bob, "Weekend trip"));
  });

  scenario("screenshots and an axe-core audit at phone and desktop widths, light and dark", async () => {
    const sizes = { phone: { width: 360, height: 740 }, desktop: { width: 1280, height: 800 } };
    const session = await s.alice.context.storageState();
    const saved = [];
    const audited = [];
    // Each screen is photographed and audited: no critical or serious axe-core violation.
    const look = async (page, name) => {
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file });
      saved.push(file);
      await assertAccessible(page, name);
      audited.push(name);
    };
    for (const [size, viewport] of Object.entries(sizes)) {
      for (const colorScheme of ["light", "dark"]) {
        const options = { viewport, colorScheme, deviceScaleFactor: 1, reducedMotion: "reduce" };

        const out = await newPage(options);
        await out.page.goto(server.url + "/");
        await shown(out.page.getByRole("button", { name: "Send code", exact: true }));
        await look(out.page, `signin-${size}-${colorScheme}`);
        await out.context.close();

        const inside = await newPage({ ...options, storageState: session });
        await inside.page.goto(`${server.url}/c/${s.direct}`);
        await shown(chat(inside.page, people.bob.name));
        await shown(message(inside.page, "offline-4-after-reconnect"));
        await shown(inside.page.getByRole("status").filter({ hasText: /Connecting|Reconnecting/ }), "hidden");
        await look(inside.page, `conversation-${size}-${colorScheme}`);
        // The conversation list with nothing open: on a phone a screen of its own (reached
        // with Back), on a desktop (no Back there) the sidebar next to the empty pane.
        if (size === "phone") {
          await inside.page.getByRole("button", { name: "Back to conversations", exact: true }).click();
          await inside.page.waitForURL(`${server.url}/`, { timeout: WAIT });
        } else {
          await inside.page.goto(`${server.url}/`);
        }
        await shown(conversationLink(inside.page, "Weekend trip"));
        await look(inside.page, `list-${size}-${colorScheme}`);
        await inside.context.close();
      }
    }
    for (const file of saved) assert.ok(existsSync(file), `${file} was not written`);
    assert.equal(audited.length, 12);
  });

  scenario("logging out returns to the sign-in screen, also after a reload", async () => {
    const { carol } = { carol: s.carol.page };
    await carol.getByRole("button", { name: "Log out", exact: true }).click();
    await shown(carol.getByLabel("Phone number", { exact: true }));
    assert.equal(new URL(carol.url()).pathname, "/");
    await carol.reload();
    await shown(carol.getByLabel("Phone number", { exact: true }));
    assert.equal(await carol.getByRole("button", { name: "Log out", exact: true }).count(), 0);
    // The session is gone on the server too: the old conversation's address shows no history.
    await carol.goto(`${server.url}/c/${s.group}`);
    await shown(carol.getByLabel("Phone number", { exact: true }));
    assert.equal(await message(carol, "Group hello from Alice").count(), 0);
  });

  scenario("the sign-in screen appears in a page loaded as a background tab", async () => {
    // Chrome gives a background tab no animation frames and runs its timers at most once a
    // second. The app must still leave "Loading Parley…" once it knows nobody is signed in.
    const { context, page } = await newPage();
    await context.addInitScript(() => {
      window.requestAnimationFrame = () => 0;
      const setTimeoutNative = window.setTimeout.bind(window);
      window.setTimeout = (fn, ms = 0, ...args) => setTimeoutNative(fn, Math.max(Number(ms) || 0, 1000), ...args);
    });
    await page.goto(server.url + "/");
    await shown(page.getByRole("button", { name: "Send code", exact: true }));
    await context.close();
  });

  scenario("no uncaught errors in any page", async () => {
    assert.deepEqual(pageErrors, []);
  });
});

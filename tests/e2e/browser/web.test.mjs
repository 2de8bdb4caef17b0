// Browser end-to-end tests of Parley's web client (node's built-in test runner, Node 18+).
//
// The real server binary (PARLEY_BINARY, else build/parley) serves the built client
// (PARLEY_WEB_ROOT, else web/dist) and real Chromium (PARLEY_CHROMIUM, else Debian's
// /usr/bin/chromium) drives it through playwright-core, which is installed with the other
// end-to-end dependencies in ../node/node_modules; the helpers are in support.mjs. Controls
// are found by their accessible names (docs/api.md and the public contract, "Web client");
// nothing sleeps to synchronise: every wait is a Playwright auto-waiting locator with a
// generous timeout, reached only when something is broken. The scenarios run in order on
// one server and share the people signed in first.
//
//   cd tests/e2e/browser && PARLEY_BINARY=../../../build/parley node --test web.test.mjs
//
// Screenshots go to ./screenshots (or $PARLEY_SCREENSHOTS), and on a failure one of each
// open page (failure-*.png), whose text and unanswered requests are added to the error.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe } from "node:test";

import {
  SCREENSHOTS, TEST_TIMEOUT, WAIT, addContact, aliceAndBobAsContacts, assertAccessible, bodiesShown, chat,
  conversationLink, conversationRow, createGroup, message, newPage, openConversation, pageErrors, people,
  scenario, send, server, shown, signIn, startSuite, status, stopSuite,
} from "./support.mjs";

describe("web client in Chromium", { timeout: 8 * TEST_TIMEOUT }, () => {
  const s = {}; // what the scenarios share: pages and contexts per person, conversation ids

  before(startSuite);
  after(stopSuite);

  scenario("two people sign in, add each other and chat in real time with receipts and typing", async () => {
    const { alice, bob } = await aliceAndBobAsContacts(s);

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
    s.group = await createGroup(alice, title, [people.bob, people.carol]);

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

  scenario("an empty direct conversation opened from one's contacts stays open when the lists are fetched again", async () => {
    // The server lists an empty direct conversation only for whoever created it: Carol opens
    // one with Bob, Bob opens it from his contacts, then his lists are fetched again (after a
    // reconnection). His name for Carol is changed in that answer on its way, so that the page
    // shows when the answer has been applied (the group's preview names her so); the chat
    // with her must still be there then.
    const { bob, carol } = { bob: s.bob.page, carol: s.carol.page };
    await addContact(carol, people.bob);
    await addContact(bob, people.carol);
    await openConversation(carol, people.bob.name);
    await openConversation(bob, people.carol.name);
    const renamed = "Carol, as fetched again";
    await bob.route("**/api/v1/contacts", async (route) => {
      if (route.request().method() !== "GET") return route.continue();
      const response = await route.fetch();
      const json = await response.json();
      for (const contact of json.contacts) if (contact.user.phone === people.carol.phone) contact.name = renamed;
      return route.fulfill({ response, json });
    });
    const reconnecting = bob.getByRole("status").filter({ hasText: "Reconnecting…" });
    await s.bob.context.setOffline(true);
    await shown(reconnecting);
    await s.bob.context.setOffline(false);
    await shown(reconnecting, "hidden");
    await shown(conversationRow(bob, "Weekend trip").filter({ hasText: renamed }));
    await shown(chat(bob, people.carol.name));
    await bob.unroute("**/api/v1/contacts");
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

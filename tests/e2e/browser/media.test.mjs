// Browser end-to-end tests of attachments and profile pictures (v2) in Parley's web client
// (node's built-in test runner, Node 18+; the server, Chromium and the helpers as in
// web.test.mjs, see support.mjs): an image pasted into the composer (its upload's progress in
// the preview strip, then a thumbnail on the other side, sized before it loads, opening the
// original in a dialog), a text file dropped on the chat (a download link with its name and
// size), a file attached while offline (uploaded and sent once, after the reconnection), a
// profile picture (the other person's view of the avatar, live and after a reload; removing
// it), and a delete for everyone (the image gone on both sides, and from the server).
//
// Files are made in the page (a PNG drawn on a canvas, a text file) and given to the client
// the way a person does: a paste (ClipboardEvent), a drop (DragEvent) or the file chooser.
// Nothing sleeps: every wait is a Playwright auto-waiting locator or a polled page condition,
// with a generous timeout reached only when something is broken. The one upload that must
// stay in flight long enough to be seen is held by a route until the test has seen it.
//
//   cd tests/e2e/browser && PARLEY_BINARY=../../../build/parley node --test media.test.mjs
//
// Screenshots (media-*.png) go to ./screenshots (or $PARLEY_SCREENSHOTS), and on a failure one
// of each open page (failure-*.png), whose text and unanswered requests are added to the error.

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe } from "node:test";

import {
  SCREENSHOTS, TEST_TIMEOUT, WAIT, aliceAndBobAsContacts, assertAccessible, chat, conversationRow, message,
  newPage, openConversation, pageErrors, people, scenario, server, shown, startSuite, status, stopSuite,
} from "./support.mjs";

/** A PNG of `width` × `height` drawn in the page (two colours, so that it is a real picture),
 *  as the bytes (base64) a file chooser is given. */
function pngBase64(page, width, height, colour) {
  return page.evaluate(async ([width, height, colour]) => {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    context.fillStyle = colour;
    context.fillRect(0, 0, width, height);
    context.fillStyle = "#ffffff";
    context.fillRect(width / 4, height / 4, width / 2, height / 2);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text);
  }, [width, height, colour]);
}

/** Pastes a PNG named `name` (drawn in the page) into the Message box, as a paste of a
 *  copied image does: a ClipboardEvent whose clipboardData holds the file. */
async function pasteImage(page, name, width, height) {
  const base64 = await pngBase64(page, width, height, "#c0392b");
  await page.getByLabel("Message", { exact: true }).evaluate((box, [name, base64]) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, { type: "image/png" }));
    box.focus();
    box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, [name, base64]);
}

/** Drops a text file named `name` holding `text` on the open chat `title`, as dragging it
 *  from the desktop does: dragenter, dragover and drop with the file in their dataTransfer. */
async function dropTextFile(page, title, name, text) {
  await chat(page, title).evaluate((section, [name, text]) => {
    const data = new DataTransfer();
    data.items.add(new File([text], name, { type: "text/plain" }));
    for (const type of ["dragenter", "dragover", "drop"]) {
      section.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }
  }, [name, text]);
}

/** The preview strip above the composer. */
function strip(page) {
  return page.getByRole("group", { name: "Attachments", exact: true });
}

/** Resolves once the file `name` in the strip is uploaded (its progress gone, nothing refused). */
async function uploaded(page, name) {
  await shown(strip(page).getByRole("button", { name: `Remove ${name}`, exact: true }));
  assert.equal(await strip(page).getByRole("progressbar").count(), 0);
  assert.equal(await strip(page).getByRole("alert").count(), 0, await strip(page).innerText());
}

/** Resolves once the image `locator` has loaded pixels; rejects when it is broken. On its
 *  load and error events, not by polling (page.waitForFunction compiles its predicate with
 *  eval, which the client's Content-Security-Policy refuses). */
async function loaded(locator) {
  const width = await locator.evaluate((img, wait) => {
    if (img.complete && img.naturalWidth > 0) return img.naturalWidth;
    if (img.complete && img.currentSrc) throw new Error(`${img.src} is broken`);
    return new Promise((resolve, reject) => {
      img.addEventListener("load", () => resolve(img.naturalWidth), { once: true });
      img.addEventListener("error", () => reject(new Error(`${img.src} did not load`)), { once: true });
      setTimeout(() => reject(new Error(`${img.src} not loaded after ${wait} ms`)), wait);
    });
  }, WAIT, { timeout: WAIT });
  assert.ok(width > 0);
}

/** The shown message (a list item) holding the image named `name`. */
function imageMessage(page, name) {
  return page.getByRole("listitem").filter({ has: page.getByRole("img", { name, exact: true }) });
}

/** The id of the message shown as `item`, once it is stored (`msg-{id}`). */
async function idOf(item) {
  const stored = item.and(item.page().locator("li[id^='msg-']"));
  await shown(stored);
  return Number((await stored.getAttribute("id")).slice("msg-".length));
}

/** The picture in an avatar (avatars are decorative, hidden from the accessibility tree). */
function avatarImage(scope) {
  return scope.locator(".avatar img");
}

/** Picks `file` ({name, mimeType, buffer}) in the file chooser that clicking `button` opens. */
async function choose(page, button, file) {
  const [chooser] = await Promise.all([page.waitForEvent("filechooser", { timeout: WAIT }), button.click()]);
  await chooser.setFiles(file);
}

describe("attachments and profile pictures in Chromium", { timeout: 8 * TEST_TIMEOUT }, () => {
  const s = {}; // what the scenarios share: pages and contexts per person, ids

  before(startSuite);
  after(stopSuite);

  scenario("an image pasted into the composer shows its upload, then reaches the other person as a thumbnail", async () => {
    const { alice, bob } = await aliceAndBobAsContacts(s);
    s.direct = await openConversation(alice, people.bob.name);
    assert.equal(await openConversation(bob, people.alice.name), s.direct);

    // The upload is held until its progress has been seen (a small file on loopback is done
    // before any screen could show it).
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await alice.route("**/api/v1/uploads", async (route) => {
      await held;
      await route.continue();
    });
    const name = "red-square.png";
    await pasteImage(alice, name, 64, 48);
    const progress = strip(alice).getByRole("progressbar", { name: `Uploading ${name}`, exact: true });
    await shown(progress);
    assert.ok(Number(await progress.getAttribute("value")) >= 0);
    await shown(strip(alice).getByRole("button", { name: `Cancel ${name}`, exact: true }));
    // Nothing to send yet: no text, and the only file is still on its way.
    assert.equal(await alice.getByRole("button", { name: "Send", exact: true }).isDisabled(), true);
    await alice.screenshot({ path: path.join(SCREENSHOTS, "media-uploading.png") });
    await assertAccessible(alice, "the composer with a file uploading");

    release();
    await uploaded(alice, name);
    await alice.unroute("**/api/v1/uploads");
    await alice.getByRole("button", { name: "Send", exact: true }).click();
    await shown(strip(alice), "hidden");

    // Bob sees it live: the thumbnail, sized from the attachment before it loads, named by
    // the file, loaded.
    const thumbnail = imageMessage(bob, name).getByRole("img", { name, exact: true });
    await shown(thumbnail);
    await loaded(thumbnail);
    s.thumbnail = await thumbnail.getAttribute("src");
    assert.match(s.thumbnail, /^\/media\/\d+\/thumbnail$/);
    assert.equal(await thumbnail.getAttribute("width"), "64");
    assert.equal(await thumbnail.getAttribute("height"), "48");
    s.imageId = await idOf(imageMessage(alice, name));
    assert.equal(await idOf(imageMessage(bob, name)), s.imageId);
    await loaded(imageMessage(alice, name).getByRole("img", { name, exact: true }));
    await shown(status(imageMessage(alice, name), "Read"), "attached");
    // The conversation list says what it is.
    await shown(conversationRow(bob, people.alice.name).filter({ hasText: "Photo" }));

    // A click opens the original in a dialog; Escape closes it and gives focus back.
    await imageMessage(bob, name).getByRole("button", { name, exact: true }).click();
    const viewer = bob.getByRole("dialog", { name, exact: true });
    await shown(viewer);
    const original = viewer.getByRole("img", { name, exact: true });
    await loaded(original);
    assert.match(await original.getAttribute("src"), /^\/media\/\d+$/);
    await assertAccessible(bob, "the full view of an image");
    await bob.keyboard.press("Escape");
    await shown(viewer, "hidden");
    await shown(imageMessage(bob, name).getByRole("button", { name, exact: true }).and(bob.locator(":focus")));
    // And its Close button closes it too.
    await imageMessage(bob, name).getByRole("button", { name, exact: true }).click();
    await viewer.getByRole("button", { name: "Close", exact: true }).click();
    await shown(viewer, "hidden");
    await bob.screenshot({ path: path.join(SCREENSHOTS, "media-image-received.png") });
  });

  scenario("a text file dropped on the chat reaches the other person as a download link with its size", async () => {
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    const name = "meeting-notes.txt";
    const text = "Notes from the meeting. ".repeat(125); // 3,000 bytes: "2.9 KB"
    assert.equal(Buffer.byteLength(text), 3000);
    await dropTextFile(alice, people.bob.name, name, text);
    await uploaded(alice, name);
    assert.equal(await strip(alice).getByText("2.9 KB", { exact: true }).count(), 1);
    const caption = "Here are the notes from Tuesday";
    await alice.getByLabel("Message", { exact: true }).fill(caption);
    await alice.getByRole("button", { name: "Send", exact: true }).click();

    const item = message(bob, caption);
    const link = item.getByRole("link", { name, exact: true });
    await shown(link);
    await shown(item.getByText("2.9 KB", { exact: true }));
    assert.equal(await link.getAttribute("download"), name);
    const href = await link.getAttribute("href");
    assert.match(href, /^\/media\/\d+$/);
    // The link gives the file back, as a download, to Bob (his session's cookie).
    const answer = await bob.request.get(server.url + href);
    assert.equal(answer.status(), 200);
    assert.match(answer.headers()["content-disposition"] ?? "", /^attachment/);
    assert.equal(await answer.text(), text);
    // One copy on each side.
    await shown(message(alice, caption).getByRole("link", { name, exact: true }));
    for (const page of [alice, bob]) assert.equal(await message(page, caption).count(), 1);

    // The image and the file on a phone, in the dark: a screenshot and an axe-core audit.
    const phone = await newPage({
      viewport: { width: 360, height: 740 }, colorScheme: "dark", deviceScaleFactor: 1, reducedMotion: "reduce",
      storageState: await s.bob.context.storageState(),
    });
    await phone.page.goto(`${server.url}/c/${s.direct}`);
    await shown(message(phone.page, caption).getByRole("link", { name, exact: true }));
    await loaded(imageMessage(phone.page, "red-square.png").getByRole("img", { name: "red-square.png", exact: true }));
    await shown(phone.page.getByRole("status").filter({ hasText: /Connecting|Reconnecting/ }), "hidden");
    await phone.page.screenshot({ path: path.join(SCREENSHOTS, "media-phone-dark.png") });
    await assertAccessible(phone.page, "attachments on a phone, dark");
    await phone.context.close();
  });

  scenario("a file attached while offline is uploaded and sent once, after the reconnection", async () => {
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    const reconnecting = alice.getByRole("status").filter({ hasText: "Reconnecting…" });
    await s.alice.context.setOffline(true);
    await shown(reconnecting);

    const name = "offline-plan.txt";
    await dropTextFile(alice, people.bob.name, name, "Plan B, written on the train.");
    await shown(strip(alice).getByText("Uploads when back online", { exact: true }));
    const caption = "offline-with-a-file";
    await alice.getByLabel("Message", { exact: true }).fill(caption);
    await alice.getByRole("button", { name: "Send", exact: true }).click();
    await shown(strip(alice), "hidden");
    const mine = message(alice, caption);
    await shown(status(mine, "Pending"), "attached");
    await shown(mine.getByText(name, { exact: true }));

    await s.alice.context.setOffline(false);
    await shown(reconnecting, "hidden");
    const link = message(bob, caption).getByRole("link", { name, exact: true });
    await shown(link);
    await shown(mine.getByRole("link", { name, exact: true }));
    await shown(status(mine, "Read"), "attached");
    for (const page of [alice, bob]) assert.equal(await message(page, caption).count(), 1);
  });

  scenario("a profile picture set in Profile shows as Alice's avatar for Bob, live and after a reload", async () => {
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    await alice.getByRole("button", { name: "Profile", exact: true }).click();
    const dialog = alice.getByRole("dialog", { name: "Profile", exact: true });
    await shown(dialog);
    await assertAccessible(alice, "the Profile dialog");

    // The picture, chosen in the file chooser.
    const picture = { name: "alice.png", mimeType: "image/png", buffer: Buffer.from(await pngBase64(alice, 200, 200, "#2e86c1"), "base64") };
    await choose(alice, dialog.getByRole("button", { name: "Choose picture", exact: true }), picture);
    await shown(dialog.getByRole("button", { name: "Remove picture", exact: true }));
    await loaded(avatarImage(dialog));
    await dialog.getByRole("button", { name: "Close", exact: true }).click();
    await shown(dialog, "hidden");
    await loaded(avatarImage(alice.locator(".side-head")));

    // Bob sees it live (user:updated) in his list and in the open chat's header.
    const row = conversationRow(bob, people.alice.name);
    await loaded(avatarImage(row));
    await loaded(avatarImage(chat(bob, people.alice.name).locator(".chat-head")));
    await bob.screenshot({ path: path.join(SCREENSHOTS, "media-avatar.png") });
    // And after a reload (the conversation and contact objects carry avatar_url).
    await bob.reload();
    await shown(chat(bob, people.alice.name));
    await loaded(avatarImage(conversationRow(bob, people.alice.name)));

    // Removed: Bob sees her initials again.
    await alice.getByRole("button", { name: "Profile", exact: true }).click();
    await dialog.getByRole("button", { name: "Remove picture", exact: true }).click();
    await shown(dialog.getByRole("button", { name: "Choose picture", exact: true }));
    await dialog.getByRole("button", { name: "Close", exact: true }).click();
    await shown(avatarImage(conversationRow(bob, people.alice.name)), "hidden");
    await shown(conversationRow(bob, people.alice.name).locator(".avatar").getByText("AA", { exact: true }));

    // The name, saved with PATCH /api/v1/me, shows in Alice's own header (then back as it
    // was: Bob knows her by his own nickname for her in any case).
    for (const name of ["Alice A. Archer", people.alice.name]) {
      await alice.getByRole("button", { name: "Profile", exact: true }).click();
      await dialog.getByLabel("Your name", { exact: true }).fill(name);
      await dialog.getByRole("button", { name: "Save", exact: true }).click();
      await shown(dialog.getByText("Your name was saved.", { exact: true }));
      await dialog.getByRole("button", { name: "Close", exact: true }).click();
      await shown(alice.locator(".side-head").getByText(name, { exact: true }));
    }
  });

  scenario("an image message deleted for everyone loses its image on both sides", async () => {
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    await openConversation(bob, people.alice.name);
    const mine = alice.locator(`li#msg-${s.imageId}`);
    const theirs = bob.locator(`li#msg-${s.imageId}`);
    await shown(theirs.getByRole("img", { name: "red-square.png", exact: true }));

    await mine.getByRole("button", { name: "Message actions", exact: true }).click();
    await mine.getByRole("menu").getByRole("menuitem", { name: "Delete", exact: true }).click();
    await alice.getByRole("dialog").getByRole("button", { name: "Delete for everyone", exact: true }).click();
    for (const item of [mine, theirs]) {
      await shown(item.getByText("This message was deleted", { exact: true }));
      assert.equal(await item.locator("img").count(), 0, "an image is left in a deleted message");
    }
    assert.equal(await bob.getByRole("img", { name: "red-square.png", exact: true }).count(), 0);
    // The server has let it go: the thumbnail is no longer there for Bob.
    const answer = await bob.request.get(server.url + s.thumbnail);
    assert.equal(answer.status(), 404);
    // And it stays gone after a reload.
    await bob.reload();
    await shown(theirs.getByText("This message was deleted", { exact: true }));
    assert.equal(await theirs.locator("img").count(), 0);
  });

  scenario("no uncaught errors in any page", async () => {
    assert.deepEqual(pageErrors, []);
  });
});

// Browser end-to-end tests of the conversation log (v2) and group administration in Parley's
// web client: replies and their quotes, edits, deletes, reactions, Group info, and the
// Message actions menu by keyboard (node's built-in test runner, Node 18+; the server,
// Chromium and the helpers as in web.test.mjs, see support.mjs).
//
// Each change is made in one person's browser and must reach the other's live (their own
// browser context, their own socket), then survive a reload on both sides. Controls are found
// by their accessible names (API.md "Web client", web/README.md); nothing sleeps: every wait
// is a Playwright auto-waiting locator, or a polled page condition, with a generous timeout
// reached only when something is broken. The scenarios run in order on one server.
//
//   cd tests/e2e/browser && PARLEY_BINARY=../../../build/parley node --test log.test.mjs
//
// Screenshots (log-*.png) go to ./screenshots (or $PARLEY_SCREENSHOTS), and on a failure one
// of each open page (failure-*.png), whose text and unanswered requests are added to the error.

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe } from "node:test";

import {
  SCREENSHOTS, TEST_TIMEOUT, WAIT, addContact, aliceAndBobAsContacts, assertAccessible, chat, conversationLink,
  createGroup, message, newPage, openConversation, pageErrors, people, scenario, send, server, shown, signIn,
  startSuite, stopSuite,
} from "./support.mjs";

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The stored message `id` as shown (its list item, `msg-{id}`). */
function messageById(page, id) {
  return page.locator(`li#msg-${id}`);
}

/** The id of the message shown as `item`, once it is stored (the sender's copy has its id
 *  once the server acknowledged it). */
async function idOf(item) {
  const stored = item.and(item.page().locator("li[id^='msg-']"));
  await shown(stored);
  return Number((await stored.getAttribute("id")).slice("msg-".length));
}

/** Resolves once `locator` (one element) has the keyboard focus. */
function focused(locator) {
  return shown(locator.and(locator.page().locator(":focus")));
}

/** Resolves once the form control `locator` holds `value`. */
async function valueIs(locator, value) {
  const handle = await locator.elementHandle({ timeout: WAIT });
  await locator.page().waitForFunction(([el, v]) => el.value === v, [handle, value], { timeout: WAIT });
}

/** Resolves once message `id` lies wholly inside (`inside`) or wholly outside (`!inside`) the
 *  visible part of the scrolling history. */
function inView(page, id, inside) {
  return page.waitForFunction(([id, inside]) => {
    const el = document.getElementById(`msg-${id}`);
    const box = el?.closest(".messages-scroll");
    if (!el || !box) return false;
    const r = el.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    return inside ? r.top >= b.top - 1 && r.bottom <= b.bottom + 1 : r.bottom <= b.top || r.top >= b.bottom;
  }, [id, inside], { timeout: WAIT });
}

function actionsButton(item) {
  return item.getByRole("button", { name: "Message actions", exact: true });
}

/** Opens the Message actions menu of `item` with the mouse and picks `action`. */
async function chooseAction(item, action) {
  await actionsButton(item).click();
  await item.getByRole("menu").getByRole("menuitem", { name: action, exact: true }).click();
}

/** Picks `emoji` for `item` through Message actions → React (picking one's own removes it). */
async function react(item, emoji) {
  await chooseAction(item, "React");
  const picker = item.getByRole("dialog", { name: "Choose a reaction", exact: true });
  await picker.getByRole("button", { name: emoji, exact: true }).click();
  await shown(picker, "hidden");
}

/** A reaction chip: a toggle button named like "👍 2", pressed when it holds one's own. */
function chip(item, emoji, count, pressed) {
  return item.getByRole("button", { name: `${emoji} ${count}`, exact: true, pressed });
}

/** Any chip of `emoji`, whatever its count. */
function anyChip(item, emoji) {
  return item.getByRole("button", { name: new RegExp(`^${emoji} \\d+$`) });
}

/** The body paragraph of a message (its text exactly). */
function body(item, text) {
  return item.getByText(text, { exact: true });
}

/** Edits one's own message `item` to `text` through Message actions → Edit and the composer. */
async function edit(page, item, oldText, text) {
  await chooseAction(item, "Edit");
  await shown(page.getByText("Editing your message", { exact: true }));
  const box = page.getByLabel("Message", { exact: true });
  await valueIs(box, oldText); // the composer holds the message's text
  await box.fill(text);
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await shown(page.getByText("Editing your message", { exact: true }), "hidden");
}

/** Sends `text` from `page` and resolves with its id once stored and shown on `other`. */
async function sendSeen(page, other, text) {
  await send(page, text);
  const id = await idOf(message(page, text));
  await shown(messageById(other, id));
  return id;
}

describe("the conversation log and groups in Chromium", { timeout: 6 * TEST_TIMEOUT }, () => {
  const s = {}; // what the scenarios share: pages and contexts per person, ids

  before(startSuite);
  after(stopSuite);

  scenario("reply, edit, delete and react reach the other person live and survive a reload", async () => {
    const { alice, bob } = await aliceAndBobAsContacts(s);
    s.direct = await openConversation(alice, people.bob.name);

    // The message to be quoted, then enough others that it scrolls out of view.
    const question = "Where shall we meet on Saturday?";
    await send(alice, question);
    const id1 = await idOf(message(alice, question));
    for (let i = 1; i <= 15; i++) await send(alice, `log-filler-${String(i).padStart(2, "0")}`);
    await idOf(message(alice, "log-filler-15")); // all stored
    assert.equal(await openConversation(bob, people.alice.name), s.direct);
    await shown(message(bob, "log-filler-15"));

    // Reply: Bob answers the question; the quote shows above the reply on both sides.
    const answer = "At the old station, under the clock";
    await chooseAction(messageById(bob, id1), "Reply");
    await shown(bob.getByText(`Replying to ${people.alice.name}`, { exact: true }));
    await send(bob, answer);
    await shown(bob.getByText(`Replying to ${people.alice.name}`, { exact: true }), "hidden");
    const id2 = await idOf(message(bob, answer));
    // The quote is a button named "In reply to {who}: {text}" (a space may come before the
    // colon: the name is a block of its own).
    const quoteOf = (page, text) => messageById(page, id2).getByRole("button", {
      name: new RegExp(`^In reply to ${page === alice ? "You" : people.alice.name}\\s*:\\s*${escapeRegExp(text)}$`) });
    for (const page of [alice, bob]) {
      const reply = messageById(page, id2);
      await shown(quoteOf(page, question));
      const quoteBox = await quoteOf(page, question).boundingBox();
      const bodyBox = await body(reply, answer).boundingBox();
      assert.ok(quoteBox.y + quoteBox.height <= bodyBox.y + 0.5, `the quote is not above the reply: ${
        JSON.stringify({ quoteBox, bodyBox })}`);
    }
    // Clicking the quote brings the quoted message into view and focuses it.
    await inView(alice, id1, false);
    await quoteOf(alice, question).click();
    await focused(messageById(alice, id1));
    await inView(alice, id1, true);

    // Edit: Alice rewrites the question; Bob sees the text, "edited", and the quote follow.
    const question2 = "Where shall we meet on Sunday instead?";
    await edit(alice, messageById(alice, id1), question, question2);
    for (const page of [bob, alice]) {
      const item = messageById(page, id1);
      await shown(body(item, question2));
      await shown(item.getByText("edited", { exact: true }));
      await shown(quoteOf(page, question2));
    }
    // And a message in view at the end of the conversation.
    const plan = "See you there at ten";
    const plan2 = "See you there at eleven";
    const id3 = await sendSeen(alice, bob, plan);
    await edit(alice, messageById(alice, id3), plan, plan2);
    await shown(body(messageById(bob, id3), plan2));
    await shown(messageById(bob, id3).getByText("edited", { exact: true }));
    assert.equal(await body(messageById(bob, id3), plan).count(), 0);

    // Delete, with a confirmation: Cancel keeps the message, Delete for everyone removes it.
    const oops = "Oops, wrong chat: please ignore";
    const id4 = await sendSeen(bob, alice, oops);
    await chooseAction(messageById(bob, id4), "Delete");
    const confirm = bob.getByRole("dialog", { name: "Delete this message?", exact: true });
    await shown(confirm);
    await confirm.getByRole("button", { name: "Cancel", exact: true }).click();
    await shown(confirm, "hidden");
    await focused(actionsButton(messageById(bob, id4)));
    await shown(body(messageById(alice, id4), oops));
    await chooseAction(messageById(bob, id4), "Delete");
    await confirm.getByRole("button", { name: "Delete for everyone", exact: true }).click();
    await shown(confirm, "hidden");
    for (const page of [bob, alice]) {
      await shown(messageById(page, id4).getByText("This message was deleted", { exact: true }));
      await shown(body(messageById(page, id4), oops), "hidden");
      await shown(actionsButton(messageById(page, id4)), "hidden");
    }

    // React and un-react, each seen live by the other.
    const reply = (page) => messageById(page, id2);
    await react(reply(alice), "👍");
    await shown(chip(reply(alice), "👍", 1, true));
    await shown(chip(reply(bob), "👍", 1, false));
    await chip(reply(bob), "👍", 1, false).click(); // Bob adds his through the chip
    await shown(chip(reply(bob), "👍", 2, true));
    await shown(chip(reply(alice), "👍", 2, true));
    // Alice's picker shows her 👍 pressed; picking it again removes it.
    await chooseAction(reply(alice), "React");
    const picker = reply(alice).getByRole("dialog", { name: "Choose a reaction", exact: true });
    await shown(picker.getByRole("button", { name: "👍", exact: true, pressed: true }));
    await picker.getByRole("button", { name: "👍", exact: true }).click();
    await shown(chip(reply(alice), "👍", 1, false));
    await shown(chip(reply(bob), "👍", 1, true));
    await react(reply(alice), "❤️");
    await shown(chip(reply(bob), "❤️", 1, false));
    // Bob reacts to Alice's plan and takes it back through the chip: it goes for Alice too.
    await react(messageById(bob, id3), "😂");
    await shown(chip(messageById(alice, id3), "😂", 1, false));
    await chip(messageById(bob, id3), "😂", 1, true).click();
    await shown(anyChip(messageById(bob, id3), "😂"), "hidden");
    await shown(anyChip(messageById(alice, id3), "😂"), "hidden");

    // Both reload and see the same final state.
    const finalState = async (page, who) => {
      await shown(chat(page, who === "alice" ? people.bob.name : people.alice.name));
      const m1 = messageById(page, id1);
      await shown(body(m1, question2));
      await shown(m1.getByText("edited", { exact: true }));
      await shown(quoteOf(page, question2));
      await shown(body(reply(page), answer));
      await shown(chip(reply(page), "👍", 1, who === "bob"));
      await shown(chip(reply(page), "❤️", 1, who === "alice"));
      const m3 = messageById(page, id3);
      await shown(body(m3, plan2));
      await shown(m3.getByText("edited", { exact: true }));
      await shown(m3.getByText("This message was deleted", { exact: true }), "hidden");
      const m4 = messageById(page, id4);
      await shown(m4.getByText("This message was deleted", { exact: true }));
      for (const [item, what] of [[m1, "the question"], [reply(page), "the reply"], [m3, "the plan"], [m4, "the deleted message"]]) {
        assert.equal(await item.count(), 1, `${who}: one copy of ${what}`);
      }
      for (const [item, what] of [[m1, "the question"], [m3, "the plan"], [m4, "the deleted message"]]) {
        assert.equal(await anyChip(item, ".+").count(), 0, `${who}: reactions on ${what}`);
      }
      assert.equal(await m4.getByText(oops).count(), 0, `${who}: the deleted text is still shown`);
      assert.equal(await actionsButton(m4).count(), 0, `${who}: the deleted message has actions`);
      assert.equal(await m1.getByText("edited", { exact: true }).count(), 1);
      assert.equal(await reply(page).getByText("edited", { exact: true }).count(), 0, `${who}: the reply is not edited`);
    };
    for (const [page, who] of [[alice, "alice"], [bob, "bob"]]) {
      await finalState(page, who);
      await page.reload();
      await finalState(page, who);
      await inView(page, id4, true);
      await page.screenshot({ path: path.join(SCREENSHOTS, `log-direct-${who}.png`) });
    }
  });

  scenario("an admin adds and removes members in Group info; both see it live and after a reload", async () => {
    for (const key of ["carol", "dave"]) s[key] = await newPage();
    const { alice, bob, carol, dave } = { alice: s.alice.page, bob: s.bob.page, carol: s.carol.page, dave: s.dave.page };
    await Promise.all([signIn(carol, people.carol), signIn(dave, people.dave)]);
    await addContact(alice, people.carol);
    await addContact(alice, people.dave);
    await addContact(carol, people.alice); // something else in Carol's list once the group is gone

    // Alice creates the group with Bob and Carol; Carol opens it.
    const title = "Book club";
    s.group = await createGroup(alice, title, [people.bob, people.carol]);
    const before = "Welcome to the book club";
    await send(alice, before);
    assert.equal(await openConversation(carol, title), s.group);
    await shown(message(carol, before));
    await shown(conversationLink(bob, title));
    assert.equal(await conversationLink(dave, title).count(), 0, "Dave has the group before he was added");

    // Group info: the title, three members.
    await alice.getByRole("button", { name: "Group info", exact: true }).click();
    const info = alice.getByRole("dialog", { name: "Group info", exact: true });
    await shown(info);
    await valueIs(info.getByLabel("Group title", { exact: true }), title);
    await shown(info.getByRole("heading", { name: "3 members", exact: true }));
    const member = (person) => info.getByRole("listitem").filter({ hasText: person.name });
    const said = (text) => shown(info.getByRole("status").filter({ hasText: text }));

    // Add Dave: the group appears in his list, live.
    await info.getByRole("group", { name: "Contacts to add", exact: true })
      .getByRole("checkbox", { name: people.dave.name, exact: true }).check();
    await info.getByRole("button", { name: "Add members", exact: true }).click();
    await said("1 member was added.");
    await shown(member(people.dave));
    await shown(info.getByRole("heading", { name: "4 members", exact: true }));
    await shown(conversationLink(dave, title));

    // Remove Carol: her open group closes (no composer) and leaves her list, live.
    await member(people.carol).getByRole("button", { name: "Remove", exact: true }).click();
    await said(`${people.carol.name} was removed from the group.`);
    await shown(member(people.carol), "hidden");
    await shown(carol.getByRole("status").filter({ hasText: "You are no longer a member of this group." }));
    await shown(carol.getByLabel("Message", { exact: true }), "hidden");
    await shown(conversationLink(carol, title), "hidden");
    await shown(message(carol, before)); // what she had stays on screen
    await carol.screenshot({ path: path.join(SCREENSHOTS, "log-group-removed.png") });

    // Make Bob an admin.
    await member(people.bob).getByRole("button", { name: "Make admin", exact: true }).click();
    await said(`${people.bob.name} is now an admin.`);
    await shown(member(people.bob).getByText("Admin", { exact: true }));
    await shown(member(people.bob).getByRole("button", { name: "Make admin", exact: true }), "hidden");
    await shown(info.getByRole("heading", { name: "3 members", exact: true }));
    // Carol can be added again: she is back among the contacts to add.
    await shown(info.getByRole("group", { name: "Contacts to add", exact: true })
      .getByRole("checkbox", { name: people.carol.name, exact: true }));

    await info.screenshot({ path: path.join(SCREENSHOTS, "log-group-info-dialog.png") });
    await alice.screenshot({ path: path.join(SCREENSHOTS, "log-group-info.png") });
    await assertAccessible(alice, "Group info");
    await info.getByRole("button", { name: "Close", exact: true }).click();
    await shown(info, "hidden");
    await focused(alice.getByRole("button", { name: "Group info", exact: true }));

    // Dave sees what follows his addition, not what came before; Carol gets none of it.
    const after = "Dave, welcome aboard";
    await send(alice, after);
    assert.equal(await openConversation(dave, title), s.group);
    await shown(message(dave, after));
    assert.equal(await message(dave, before).count(), 0, "Dave sees a message from before he was added");
    const fromDave = "Thanks, glad to be here";
    await send(dave, fromDave);
    await shown(message(alice, fromDave));
    assert.equal(await message(carol, after).count(), 0, "Carol got a message after her removal");
    assert.equal(await message(carol, fromDave).count(), 0, "Carol got a message after her removal");

    // After a reload: Carol cannot open the group and does not list it; Dave still has it.
    await carol.reload();
    await shown(conversationLink(carol, people.alice.name));
    await shown(carol.getByText("This conversation does not exist or you are not in it.", { exact: true }));
    assert.equal(await conversationLink(carol, title).count(), 0, "the group is back in Carol's list");
    assert.equal(await carol.getByLabel("Message", { exact: true }).count(), 0, "Carol has a composer");
    assert.equal(await message(carol, before).count(), 0);
    await dave.reload();
    await shown(chat(dave, title));
    await shown(message(dave, fromDave));
    await shown(conversationLink(dave, title));
    assert.equal(await message(dave, before).count(), 0);
  });

  scenario("Message actions by keyboard: arrows, React, Escape back to the button; axe with the menu open", async () => {
    const { alice, bob } = { alice: s.alice.page, bob: s.bob.page };
    await openConversation(bob, people.alice.name);
    await openConversation(alice, people.bob.name);
    const text = "Keys only, no mouse";
    const id = await sendSeen(bob, alice, text);
    const item = messageById(bob, id);
    const button = actionsButton(item);
    const menu = item.getByRole("menu", { name: "Message actions", exact: true });
    const menuItem = (name) => menu.getByRole("menuitem", { name, exact: true });
    const picker = item.getByRole("dialog", { name: "Choose a reaction", exact: true });
    const key = (k) => bob.keyboard.press(k);

    // Enter on the button opens the menu on its first item; the arrows wrap; Home and End.
    await button.focus();
    await shown(item.getByRole("button", { name: "Message actions", exact: true, expanded: false }));
    await key("Enter");
    await shown(menu);
    await shown(item.getByRole("button", { name: "Message actions", exact: true, expanded: true }));
    await focused(menuItem("Reply"));
    for (const [k, name] of [["ArrowDown", "Edit"], ["ArrowDown", "Delete"], ["ArrowDown", "React"],
      ["ArrowDown", "Reply"], ["ArrowUp", "React"], ["Home", "Reply"], ["End", "React"]]) {
      await key(k);
      await focused(menuItem(name));
    }
    await bob.screenshot({ path: path.join(SCREENSHOTS, "log-actions-menu.png") });
    await assertAccessible(bob, "chat with the Message actions menu open");

    // Escape closes the menu and gives the focus back to the button.
    await key("Escape");
    await shown(menu, "hidden");
    await focused(button);
    await shown(item.getByRole("button", { name: "Message actions", exact: true, expanded: false }));

    // ArrowDown opens it too; End, Enter on React: the picker, focus on its first emoji.
    await key("ArrowDown");
    await focused(menuItem("Reply"));
    await key("End");
    await focused(menuItem("React"));
    await key("Enter");
    await shown(picker);
    await shown(menu, "hidden");
    await focused(picker.getByRole("button", { name: "👍", exact: true }));
    await key("ArrowRight");
    await focused(picker.getByRole("button", { name: "❤️", exact: true }));
    await key("Enter");
    await shown(picker, "hidden");
    await focused(button);
    await shown(chip(item, "❤️", 1, true));
    await shown(chip(messageById(alice, id), "❤️", 1, false));

    // The picker opens on one's own reaction; Escape closes it, back to the button.
    await key("Enter");
    await focused(menuItem("Reply"));
    await key("End");
    await key("Enter");
    await focused(picker.getByRole("button", { name: "❤️", exact: true, pressed: true }));
    await key("Escape");
    await shown(picker, "hidden");
    await focused(button);
    await shown(chip(item, "❤️", 1, true)); // nothing changed
  });

  scenario("no uncaught errors in any page", async () => {
    assert.deepEqual(pageErrors, []);
  });
});

// The conversation log (API.md v2) with the official socket.io-client: edits, deletes,
// reactions and replies live between two users, one on the client's default transport
// (polling, then the upgrade to WebSocket) and one on WebSocket only; group membership with the
// `conversation` and `conversation:left` events; and `sync` bringing a device that was offline
// exactly to the present.
//
// "Nothing more reaches a socket" is proven in arrival order: a direct message sent after the
// changes in question must reach it, and what it received before is checked.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MODES, TIMEOUT, withServer } from "./harness.mjs";
import {
  api, call, clientId, group, history, listed, ok, open, refused, scopeOf, withoutMarks,
} from "./log_helpers.mjs";

const PHONES = ["+14155550101", "+14155550102", "+14155550103", "+14155550104"];
const [DEFAULT_MODE, WEBSOCKET_ONLY] = MODES;
const FLAGS = ["--message-rate", "0"];

describe("the conversation log with socket.io-client", { timeout: 6 * TIMEOUT }, () => {
  for (const [aliceMode, bobMode] of [[DEFAULT_MODE, WEBSOCKET_ONLY], [WEBSOCKET_ONLY, DEFAULT_MODE]]) {
    it(`edit, delete, react and reply live (Alice ${aliceMode.name}, Bob ${bobMode.name})`, async () => {
      await withServer(FLAGS, async (server) => {
        const alice = await server.signIn(PHONES[0], "Alice");
        const bob = await server.signIn(PHONES[1], "Bob");
        const a = await open(server, alice, aliceMode);
        const b = await open(server, bob, bobMode);

        const first = ok(await call(a, "message:send",
                                    { to: bob.user.id, body: "first", client_id: clientId() }));
        const conversation = first.conversation_id;
        assert.equal(first.seq, 1);
        assert.equal(first.updated_seq, 1);
        assert.deepEqual(await b.take("message"), first);

        // A reply carries a quote of the message it answers.
        const reply = ok(await call(b, "message:send", {
          conversation_id: conversation, body: "a reply", client_id: clientId(), reply_to: first.id,
        }));
        assert.deepEqual(reply.reply_to, { id: first.id, sender_id: alice.user.id, body: "first", deleted: false });
        assert.deepEqual(await a.take("message"), reply);

        // Edit: the whole message as it now is, to the other side.
        const edited = ok(await call(a, "message:edit", { message_id: first.id, body: " first, edited " }));
        assert.equal(edited.body, "first, edited");
        assert.equal(edited.updated_seq, 3);
        assert.equal(typeof edited.edited_at, "number");
        assert.deepEqual(await b.take("message:updated"), edited);
        refused(await call(b, "message:edit", { message_id: first.id, body: "not mine" }), "not_allowed");

        // Reactions, both ways; ❤ and ❤️ are two.
        const hearted = ok(await call(b, "reaction:set", { message_id: first.id, emoji: "❤️" }));
        assert.deepEqual(await a.take("message:updated"), hearted);
        const both = ok(await call(a, "reaction:set", { message_id: first.id, emoji: "❤" }));
        assert.deepEqual(both.reactions, [
          { emoji: "❤️", user_ids: [bob.user.id] }, { emoji: "❤", user_ids: [alice.user.id] },
        ]);
        assert.deepEqual(await b.take("message:updated"), both);
        refused(await call(a, "reaction:set", { message_id: first.id, emoji: "👍👍" }), "bad_request");
        const removed = ok(await call(b, "reaction:set", { message_id: first.id, emoji: null }));
        assert.deepEqual(removed.reactions, [{ emoji: "❤", user_ids: [alice.user.id] }]);
        assert.deepEqual(await a.take("message:updated"), removed);

        // Delete for everyone: a tombstone, and the reply's quote says so.
        const tombstone = ok(await call(a, "message:delete", { message_id: first.id }));
        assert.equal(tombstone.deleted, true);
        assert.equal(tombstone.body, "");
        assert.deepEqual(tombstone.reactions, []);
        assert.equal(tombstone.edited_at, edited.edited_at);
        assert.deepEqual(await b.take("message:updated"), tombstone);
        refused(await call(a, "message:edit", { message_id: first.id, body: "again" }), "not_allowed");
        refused(await call(b, "reaction:set", { message_id: first.id, emoji: "👍" }), "not_allowed");
        const messages = await history(server, bob, conversation);
        assert.deepEqual(messages[0], tombstone);
        assert.deepEqual(messages[1].reply_to, { id: first.id, sender_id: alice.user.id, body: "", deleted: true });
        assert.equal(messages[1].updated_seq, reply.updated_seq, "a quote's change is not the reply's");

        // Neither socket heard of its own changes: each has exactly the other's.
        const marker = ok(await call(b, "message:send",
                                     { conversation_id: conversation, body: "marker", client_id: clientId() }));
        assert.deepEqual(await a.take("message"), marker);
        assert.deepEqual(a.all("message:updated"), [hearted, removed]);
        assert.deepEqual(b.all("message:updated"), [edited, both, tombstone]);
      });
    });
  }

  it("group membership: conversation and conversation:left events", async () => {
    await withServer(FLAGS, async (server) => {
      const [alice, bob, carol, dave] = await Promise.all(
        ["Alice", "Bob", "Carol", "Dave"].map((name, index) => server.signIn(PHONES[index], name)));
      const a = await open(server, alice, DEFAULT_MODE);
      const b = await open(server, bob, WEBSOCKET_ONLY);
      const c = await open(server, carol, WEBSOCKET_ONLY);
      const d = await open(server, dave, DEFAULT_MODE);

      const created = await group(server, alice, [bob, carol], "Team");
      const id = created.id;
      assert.equal(created.seq, 1);
      for (const socket of [a, b, c]) {
        const event = await socket.take("conversation");
        assert.equal(event.id, id);
        assert.equal(event.seq, 1);
        assert.deepEqual(event.members.filter((m) => m.admin).map((m) => m.id), [alice.user.id]);
      }
      const before = ok(await call(c, "message:send", { conversation_id: id, body: "hello", client_id: clientId() }));
      await b.take("message", (m) => m.id === before.id);

      // Added: Dave's socket learns of the group; he sees only what follows.
      const added = await api(server, alice, "POST", `/conversations/${id}/members`, { user_ids: [dave.user.id] });
      assert.equal(added.status, 200, added.body);
      const atDave = await d.take("conversation", (v) => v.id === id);
      assert.equal(atDave.last_message, null);
      assert.deepEqual(withoutMarks(atDave), withoutMarks(await listed(server, dave, id)));
      for (const socket of [a, b, c]) {
        const event = await socket.take("conversation", (v) => v.members.some((m) => m.id === dave.user.id));
        assert.equal(event.seq, added.json.conversation.seq);
        assert.equal(event.seq, before.seq + 1, "the addition is the next change");
      }
      assert.deepEqual(await history(server, dave, id), []);
      refused(await call(d, "reaction:set", { message_id: before.id, emoji: "👍" }), "not_found");

      // Removed: Bob's socket gets conversation:left, the others the new member list.
      const removal = await api(server, alice, "DELETE", `/conversations/${id}/members/${bob.user.id}`);
      assert.equal(removal.status, 204, removal.body);
      assert.deepEqual(await b.take("conversation:left"), { conversation_id: id });
      for (const socket of [a, c, d]) {
        const event = await socket.take("conversation", (v) => !v.members.some((m) => m.id === bob.user.id));
        assert.equal(event.seq, before.seq + 2);
      }
      // What happens in the group next reaches the members, and not Bob.
      const after = ok(await call(c, "message:send", { conversation_id: id, body: "Bob has gone", client_id: clientId() }));
      assert.deepEqual(await d.take("message", (m) => m.id === after.id), after);
      const edited = ok(await call(c, "message:edit", { message_id: before.id, body: "hello, edited" }));
      assert.deepEqual(await a.take("message:updated", (m) => m.id === before.id), edited);
      c.socket.emit("typing", { conversation_id: id, typing: true });
      await a.take("typing", (t) => t.conversation_id === id && t.user_id === carol.user.id);
      const marker = ok(await call(c, "message:send", { to: bob.user.id, body: "marker", client_id: clientId() }));
      assert.deepEqual(await b.take("message", (m) => m.id === marker.id), marker);
      const left = b.after("conversation:left", (p) => p.conversation_id === id);
      assert.deepEqual(left.filter((e) => scopeOf(e.name, e.payload) === id), [],
                       "nothing of the group after conversation:left");
      assert.equal((await api(server, bob, "GET", `/conversations/${id}/messages`)).status, 404);

      // Leaving works the same way, and the last admin's leaving promotes the longest-standing.
      const leaving = await api(server, alice, "DELETE", `/conversations/${id}/members/${alice.user.id}`);
      assert.equal(leaving.status, 204, leaving.body);
      assert.deepEqual(await a.take("conversation:left"), { conversation_id: id });
      const handedOver = await c.take("conversation", (v) => !v.members.some((m) => m.id === alice.user.id));
      assert.deepEqual(handedOver.members.filter((m) => m.admin).map((m) => m.id), [carol.user.id]);
    });
  });

  it("sync brings a device that was offline exactly to the present", async () => {
    await withServer(FLAGS, async (server) => {
      const [alice, bob, carol, dave] = await Promise.all(
        ["Alice", "Bob", "Carol", "Dave"].map((name, index) => server.signIn(PHONES[index], name)));
      const a = await open(server, alice, WEBSOCKET_ONLY);
      const team = (await group(server, alice, [bob, carol], "Team")).id;
      const removedFrom = (await group(server, alice, [bob, carol], "Removed from")).id;
      const addedTo = (await group(server, alice, [carol, dave], "Added to")).id;
      const send = async (conversation, body, extra = {}) =>
        ok(await call(a, "message:send", { conversation_id: conversation, body, client_id: clientId(), ...extra }));
      const doomed = await send(team, "doomed");
      const kept = await send(team, "kept");

      // Bob's device catches up, then goes offline.
      let device = await open(server, bob, DEFAULT_MODE);
      const first = await call(device, "sync", { cursors: [] });
      assert.equal(first.ok, true, JSON.stringify(first));
      assert.deepEqual(first.messages, []);
      const cursors = Object.fromEntries(first.conversations.map((c) => [c.id, c.seq]));
      assert.deepEqual(Object.keys(cursors).map(Number).sort((x, y) => x - y), [team, removedFrom]);
      device.socket.disconnect();

      // While it is away: edits, a reaction added and removed, a delete, a new message, a
      // removal from one group and an addition to another.
      ok(await call(a, "message:edit", { message_id: doomed.id, body: "doomed, once" }));
      ok(await call(a, "message:edit", { message_id: doomed.id, body: "doomed, twice" }));
      ok(await call(a, "reaction:set", { message_id: kept.id, emoji: "🎉" }));
      ok(await call(a, "reaction:set", { message_id: kept.id, emoji: null }));
      const tombstone = ok(await call(a, "message:delete", { message_id: doomed.id }));
      const fresh = await send(team, "while you were away", { reply_to: doomed.id });
      await send(removedFrom, "before the removal");
      assert.equal((await api(server, alice, "DELETE", `/conversations/${removedFrom}/members/${bob.user.id}`)).status, 204);
      await send(removedFrom, "after the removal");
      await send(addedTo, "before Bob");
      const addition = await api(server, alice, "POST", `/conversations/${addedTo}/members`, { user_ids: [bob.user.id] });
      assert.equal(addition.status, 200, addition.body);
      const welcome = await send(addedTo, "welcome Bob");

      device = await open(server, bob, WEBSOCKET_ONLY);
      const answer = await call(device, "sync", {
        cursors: Object.entries(cursors).map(([id, seq]) => ({ conversation_id: Number(id), seq })),
      });
      assert.equal(answer.ok, true, JSON.stringify(answer));
      assert.equal(answer.has_more, false);
      const keptNow = (await history(server, bob, team)).find((m) => m.id === kept.id);
      assert.deepEqual(keptNow.reactions, []);
      assert.deepEqual(answer.messages, [keptNow, tombstone, fresh],
                       "one state per message, by updated_seq: no reaction, one tombstone, the new one");
      assert.deepEqual(fresh.reply_to, { id: doomed.id, sender_id: alice.user.id, body: "", deleted: true });
      assert.deepEqual(answer.left, [removedFrom]);
      const objects = Object.fromEntries(answer.conversations.map((c) => [c.id, c]));
      assert.deepEqual(Object.keys(objects).map(Number).sort((x, y) => x - y), [team, addedTo]);
      assert.equal(objects[team].seq, fresh.updated_seq);
      assert.deepEqual(withoutMarks(objects[addedTo]), withoutMarks(await listed(server, bob, addedTo)));
      assert.deepEqual(objects[addedTo].last_message, welcome);
      assert.deepEqual(await history(server, bob, addedTo), [welcome]);

      // With the cursors of that answer, nothing more, until something happens.
      const next = { ...cursors, [team]: objects[team].seq, [addedTo]: objects[addedTo].seq };
      delete next[removedFrom];
      const cursorList = () => Object.entries(next).map(([id, seq]) => ({ conversation_id: Number(id), seq }));
      assert.deepEqual(await call(device, "sync", { cursors: cursorList() }),
                       { ok: true, conversations: [], messages: [], left: [], has_more: false });
      const live = await send(addedTo, "live");
      assert.deepEqual(await device.take("message", (m) => m.id === live.id), live);
      const again = await call(device, "sync", { cursors: cursorList() });
      assert.deepEqual(again.messages, [live]);
    });
  });
});

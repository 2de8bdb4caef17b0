// The chat events with the official socket.io-client, in its three transport modes: a message
// sent with an ack reaches the other member and the sender's second tab (not the sending
// socket), is acknowledged with the stored message, and the recipient's ack comes back to the
// sender as a delivered receipt; a retry with the same client_id is answered with the original;
// `sync` from the conversation's cursor after a reconnect returns exactly what was missed, with
// the conversation object as listed over REST.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MESSAGE_FIELDS, MODES, TIMEOUT, connected, once, settled, withServer } from "./harness.mjs";

const ALICE = "+14155550101";
const BOB = "+14155550102";

// A user as others see them: the sign-in answer's own user object also carries
// notification_previews, which only its owner is shown.
const publicUser = ({ notification_previews: _own, ...user }) => user;

for (const mode of MODES) {
  describe(`chat with socket.io-client, ${mode.name}`, { timeout: 4 * TIMEOUT }, () => {
    it("sends, delivers to the others and the sender's other tab, acks and receipts", async () => {
      await withServer([], async (server) => {
        const alice = await server.signIn(ALICE, "Alice");
        const bob = await server.signIn(BOB, "Bob");
        const open = async (user) => {
          const socket = server.socket("/", { ...mode.options, auth: { token: user.token } });
          await connected(socket);
          await settled(socket, mode.transport);
          return socket;
        };
        const [sending, secondTab, receiving] = await Promise.all([open(alice), open(alice), open(bob)]);
        const sendingGot = [];
        sending.on("message", (message) => sendingGot.push(message));

        receiving.on("message", (message, ack) => ack({}));
        const atBob = once(receiving, "message");
        const atSecondTab = once(secondTab, "message");
        const receipt = once(sending, "receipt");
        const answer = await sending.timeout(TIMEOUT).emitWithAck(
          "message:send", { to: bob.user.id, body: " héllo 😀 ", client_id: "first" });
        assert.equal(answer.ok, true, JSON.stringify(answer));
        const message = answer.message;
        assert.equal(message.body, "héllo 😀");
        assert.equal(message.sender_id, alice.user.id);
        assert.equal(message.client_id, "first");
        assert.equal(typeof message.sent_at, "number");
        assert.deepEqual(Object.keys(message).sort(), MESSAGE_FIELDS);
        // A direct conversation's first change is its first message; a new message is unchanged.
        assert.deepEqual(
          { seq: message.seq, updated_seq: message.updated_seq, edited_at: message.edited_at, deleted: message.deleted,
            reply_to: message.reply_to, reactions: message.reactions, attachments: message.attachments },
          { seq: 1, updated_seq: 1, edited_at: null, deleted: false, reply_to: null, reactions: [], attachments: [] });
        assert.deepEqual((await atBob)[0], message);
        assert.deepEqual((await atSecondTab)[0], message);
        assert.deepEqual((await receipt)[0], {
          conversation_id: message.conversation_id, user_id: bob.user.id, kind: "delivered",
          up_to: message.id,
        });

        // A retry is answered with the original; nobody receives it twice.
        const retry = await sending.timeout(TIMEOUT).emitWithAck(
          "message:send", { conversation_id: message.conversation_id, body: "other", client_id: "first" });
        assert.deepEqual(retry, { ok: true, message });

        // Bob goes away; Alice sends two more; Bob syncs from the last seq he applied.
        receiving.disconnect();
        const missed = [];
        for (const text of ["one", "two"]) {
          const sent = await sending.timeout(TIMEOUT).emitWithAck(
            "message:send", { conversation_id: message.conversation_id, body: text, client_id: text });
          missed.push(sent.message);
        }
        assert.deepEqual(missed.map((m) => m.seq), [2, 3]);
        const again = await open(bob);
        const synced = await again.timeout(TIMEOUT).emitWithAck(
          "sync", { cursors: [{ conversation_id: message.conversation_id, seq: message.seq }] });
        // Bob's delivered mark was stored before Alice's receipt went out, and nothing has
        // moved a mark since: the object is the one the REST list gives now.
        const listed = await server.request("GET", "/api/v1/conversations", { token: bob.token });
        assert.equal(listed.status, 200);
        const [conversation] = listed.json().conversations;
        assert.equal(conversation.id, message.conversation_id);
        assert.equal(conversation.seq, 3);
        assert.deepEqual(conversation.last_message, missed[1]);
        assert.deepEqual(conversation.members.find((member) => member.id === bob.user.id),
                         { ...publicUser(bob.user), admin: false, read_up_to: 0, delivered_up_to: message.id });
        assert.deepEqual(synced, { ok: true, conversations: [conversation], messages: missed, left: [], has_more: false });
        // From there, nothing.
        assert.deepEqual(
          await again.timeout(TIMEOUT).emitWithAck(
            "sync", { cursors: [{ conversation_id: conversation.id, seq: conversation.seq }] }),
          { ok: true, conversations: [], messages: [], left: [], has_more: false });
        // The sending socket never received its own messages.
        assert.deepEqual(sendingGot, []);
      });
    });
  });
}

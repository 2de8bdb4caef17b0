// Smoke test of the peer: starts server.mjs with a temporary users file, talks to it with
// socket.io-client (this package's devDependency) and plain HTTP, stops it with SIGTERM.
// Exits nonzero on the first failure.
//
//   npm install && node smoke.mjs

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const directory = mkdtempSync(join(tmpdir(), "peer-smoke-"));
const users_file = join(directory, "users.txt");
writeFileSync(users_file, "1 token-one\n2 token-two\n\n3 token-three\n");

const server = spawn(process.execPath, [new URL("server.mjs", import.meta.url).pathname, "--port", "0", "--users", users_file],
                     { stdio: ["ignore", "pipe", "inherit"] });
const exited = new Promise((resolve) => server.once("exit", (code, signal) => resolve({ code, signal })));
const ready_line = await new Promise((resolve, reject) => {
  createInterface({ input: server.stdout }).once("line", resolve);
  server.once("exit", () => reject(new Error("server exited before it was ready")));
});
assert.match(ready_line, /^peer\.ready port=\d+ pid=\d+$/);
const url = `http://127.0.0.1:${/port=(\d+)/.exec(ready_line)[1]}`;

const request = async (method, path, token, body) => {
  const response = await fetch(url + path, {
    method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith("{") ? JSON.parse(text) : text };
};
const connect = (token, transports) => new Promise((resolve, reject) => {
  const socket = io(url, { auth: { token }, reconnection: false, forceNew: true, ...(transports ? { transports } : {}) });
  socket.once("connect", () => resolve(socket));
  socket.once("connect_error", (failure) => { socket.close(); reject(failure); });
});
const next_event = (socket, event) => new Promise((resolve) => socket.once(event, (...args) => resolve(args)));

let sockets = [];
try {
  assert.deepEqual(await request("GET", "/healthz"), { status: 200, body: "ok" });
  assert.equal((await request("GET", "/api/v1/conversations/1/messages", "wrong")).status, 401);
  assert.equal((await request("GET", "/nowhere")).body.error.code, "not_found");
  await assert.rejects(connect("wrong"), { message: "unauthorized" });

  const alice = await connect("token-one");                      // polling, then the upgrade
  const bob = await connect("token-two", ["websocket"]);
  sockets = [alice, bob];

  // A direct message by `to`: Bob gets it and acks it, Alice gets her ack and a receipt.
  const bob_gets = next_event(bob, "message");
  const alice_receipt = next_event(alice, "receipt");
  const answer = await alice.emitWithAck("message:send", { to: 2, body: "  hello Bob ", client_id: "c1" });
  assert.equal(answer.ok, true);
  assert.equal(answer.message.body, "hello Bob");
  assert.equal(answer.message.sender_id, 1);
  const [received, ack] = await bob_gets;
  assert.deepEqual(received, answer.message);
  ack();
  assert.deepEqual((await alice_receipt)[0],
                   { conversation_id: received.conversation_id, user_id: 2, kind: "delivered", up_to: received.id });

  // The same client_id again: the original message, nothing delivered twice.
  const again = await alice.emitWithAck("message:send", { to: 2, body: "other", client_id: "c1" });
  assert.deepEqual(again, answer);

  // Refusals and garbage.
  const code = async (...args) => (await alice.emitWithAck(...args)).error?.code;
  assert.equal(await code("message:send", { to: 2, body: "   ", client_id: "c2" }), "bad_request");
  assert.equal(await code("message:send", { to: 2, body: "x".repeat(4001), client_id: "c2" }), "body_too_long");
  assert.equal(await code("message:send", { to: 99, body: "x", client_id: "c2" }), "not_found");
  assert.equal(await code("message:send", { to: 2, conversation_id: 1, body: "x", client_id: "c2" }), "bad_request");
  assert.equal(await code("message:send", "garbage"), "bad_request");
  assert.equal(await code("message:read", null), "bad_request");
  assert.equal(await code("no-such-event", {}), "bad_request");
  alice.emit("message:send", { to: 2 });                        // no ack: must not throw
  alice.emit("error", 1);
  alice.emit("typing");

  // A group, some messages in it, and history pages.
  const group = await request("POST", "/api/v1/conversations", "token-one", { members: [2, 3], title: " Team " });
  assert.equal(group.status, 201);
  assert.equal(group.body.conversation.kind, "group");
  assert.equal(group.body.conversation.title, "Team");
  assert.deepEqual(group.body.conversation.members.map((member) => member.id), [1, 2, 3]);
  assert.equal((await request("POST", "/api/v1/conversations", "token-one", { members: [2] })).status, 200);
  assert.equal((await request("POST", "/api/v1/conversations", "token-one", { members: [2, 7], title: "x" })).status, 404);
  assert.equal((await request("POST", "/api/v1/conversations", "token-one", { members: [2, 3] })).status, 400);
  const group_id = group.body.conversation.id;
  const ids = [];
  for (let index = 0; index < 5; index += 1) {
    ids.push((await bob.emitWithAck("message:send", { conversation_id: group_id, body: `m${index}`, client_id: `g${index}` })).message.id);
  }
  const page = await request("GET", `/api/v1/conversations/${group_id}/messages?limit=2`, "token-three");
  assert.deepEqual(page.body.messages.map((message) => message.id), ids.slice(3));
  assert.equal(page.body.has_more, true);
  const older = await request("GET", `/api/v1/conversations/${group_id}/messages?before=${ids[3]}&limit=100`, "token-three");
  assert.deepEqual(older.body.messages.map((message) => message.id), ids.slice(0, 3));
  assert.equal(older.body.has_more, false);
  assert.equal((await request("GET", `/api/v1/conversations/${group_id}/messages?limit=0`, "token-three")).status, 400);
  assert.equal((await request("GET", `/api/v1/conversations/${received.conversation_id}/messages`, "token-three")).status, 404);

  // Sync, reads and the conversation list.
  const sync = await alice.emitWithAck("messages:sync", { after: 0, limit: 3 });
  assert.deepEqual(sync.messages.map((message) => message.id), [received.id, ids[0], ids[1]]);
  assert.equal(sync.has_more, true);
  assert.deepEqual(await alice.emitWithAck("message:read", { conversation_id: group_id, up_to: ids[2] }), { ok: true });
  const list = await request("GET", "/api/v1/conversations", "token-one");
  assert.deepEqual(list.body.conversations.map((c) => [c.id, c.unread_count]), [[group_id, 2], [received.conversation_id, 0]]);

  for (const socket of sockets) socket.close();
  server.kill("SIGTERM");
  assert.deepEqual(await exited, { code: 0, signal: null });
  console.log("smoke: ok");
} catch (failure) {
  console.error("smoke: FAILED", failure);
  for (const socket of sockets) socket.close();
  server.kill("SIGKILL");
  process.exitCode = 1;
} finally {
  rmSync(directory, { recursive: true, force: true });
}

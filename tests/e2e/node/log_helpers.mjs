// Helpers for log.test.mjs (the conversation log with the official socket.io-client), kept out
// of harness.mjs: a recorder of every event a socket receives, in arrival order, from which a
// test takes events as it expects them; and the REST calls of API.md "Groups (v2)".
//
// Nothing sleeps: every wait is on an event, with the harness TIMEOUT bounding failures.

import assert from "node:assert/strict";
import { EventEmitter } from "node:events";

import { MESSAGE_FIELDS, TIMEOUT, connected, settled, until } from "./harness.mjs";

/** Every event a socket receives, in order. `take(name, predicate)` resolves with the payload
 *  of the first not-yet-taken `name` event that satisfies `predicate`, waiting for it if needed.
 *  Events that ask for an acknowledgement (`message`) are acknowledged. */
export class Recorder extends EventEmitter {
  constructor(socket) {
    super();
    this.setMaxListeners(0);
    this.socket = socket;
    this.events = []; // {name, payload, taken}
    socket.onAny((name, ...args) => {
      if (typeof args.at(-1) === "function") args.pop()({});
      this.events.push({ name, payload: args[0], taken: false });
      this.emit("event");
    });
  }

  async take(name, predicate = () => true, what = `a '${name}' event`) {
    let found;
    const find = () => {
      found = this.events.find((event) => !event.taken && event.name === name && predicate(event.payload));
      return found !== undefined;
    };
    await until(this, "event", find, {
      what: `${what}; received: ${JSON.stringify(this.events.map((e) => [e.name, e.payload])).slice(0, 2000)}`,
    });
    found.taken = true;
    return found.payload;
  }

  /** The payloads of every `name` event so far. */
  all(name) {
    return this.events.filter((event) => event.name === name).map((event) => event.payload);
  }

  /** The events received after the first one named `name` that satisfies `predicate`. */
  after(name, predicate = () => true) {
    const index = this.events.findIndex((event) => event.name === name && predicate(event.payload));
    assert.notEqual(index, -1, `no '${name}' event`);
    return this.events.slice(index + 1);
  }
}

/** The conversation an event is about (undefined for others). */
export function scopeOf(name, payload) {
  if (payload === null || typeof payload !== "object") return undefined;
  if (name === "conversation") return payload.id;
  return payload.conversation_id;
}

/** Opens a socket for `user` in `mode` (harness MODES), waits until it is connected and on its
 *  final transport, and records its events. */
export async function open(server, user, mode) {
  const socket = server.socket("/", { ...mode.options, auth: { token: user.token } });
  const recorder = new Recorder(socket);
  await connected(socket);
  await settled(socket, mode.transport);
  return recorder;
}

/** Emits with an ack and returns the ack's single argument. */
export async function call(recorder, event, payload) {
  return recorder.socket.timeout(TIMEOUT).emitWithAck(event, payload);
}

/** An ack {ok: true, message}: returns the message (checked for the v2 fields). */
export function ok(answer) {
  assert.equal(answer?.ok, true, JSON.stringify(answer));
  assert.deepEqual(Object.keys(answer).sort(), ["message", "ok"]);
  const message = answer.message;
  assert.deepEqual(Object.keys(message).sort(), MESSAGE_FIELDS);
  return message;
}

export function refused(answer, code) {
  assert.equal(answer?.ok, false, JSON.stringify(answer));
  assert.equal(answer.error?.code, code, JSON.stringify(answer));
  assert.equal(typeof answer.error.message, "string");
}

let clientIds = 0;
export function clientId() {
  clientIds += 1;
  return `log-${process.pid}-${clientIds}`;
}

/** REST as `user`; returns {status, json}. */
export async function api(server, user, method, path, body) {
  const response = await server.request(method, `/api/v1${path}`, { token: user.token, body });
  return { status: response.status, json: response.body ? response.json() : null, body: response.body };
}

export async function group(server, owner, others, title = "Group") {
  const response = await api(server, owner, "POST", "/conversations",
                             { members: others.map((user) => user.user.id), title });
  assert.equal(response.status, 201, response.body);
  return response.json.conversation;
}

export async function history(server, user, conversationId) {
  const response = await api(server, user, "GET", `/conversations/${conversationId}/messages?limit=100`);
  assert.equal(response.status, 200, response.body);
  assert.equal(response.json.has_more, false);
  return response.json.messages;
}

export async function listed(server, user, conversationId) {
  const response = await api(server, user, "GET", "/conversations");
  assert.equal(response.status, 200, response.body);
  return response.json.conversations.find((conversation) => conversation.id === conversationId);
}

/** A conversation object without the read/delivered marks (they move as deliveries are
 *  acknowledged, independently of the log). */
export function withoutMarks(conversation) {
  return {
    ...conversation,
    members: conversation.members.map(({ read_up_to: _r, delivered_up_to: _d, ...member }) => member),
  };
}

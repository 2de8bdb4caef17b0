// A minimal chat server on the official `socket.io` package that speaks Parley's public
// contract (REST conversations and history, Socket.IO chat events), keeping everything in
// memory. It is the comparison peer for Parley's benchmarks: see README.md.
//
//   node server.mjs --port PORT --users FILE [--host 127.0.0.1]
//
// Runs on Node 18 and later.

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Server } from "socket.io";

const k_max_body_characters = 4000;
const k_max_client_id_characters = 100;
const k_max_title_characters = 100;
const k_max_request_bytes = 1_000_000;
const k_history_limit = { default: 50, max: 100 };
const k_sync_limit = { default: 100, max: 500 };

// ---------------------------------------------------------------------------------------
// Command line and users

function parse_arguments(argv) {
  const options = { host: "127.0.0.1", port: null, users: null };
  for (let index = 0; index < argv.length; index += 1) {
    const [flag, inline] = argv[index].split(/=(.*)/s, 2);
    const value = inline ?? argv[++index];
    if (value === undefined || !["--host", "--port", "--users"].includes(flag)) {
      usage(`bad argument '${argv[index] ?? flag}'`);
    }
    options[flag.slice(2)] = value;
  }
  if (options.users === null || options.port === null || !/^\d+$/.test(options.port) || Number(options.port) > 65535) {
    usage("--port and --users are required");
  }
  options.port = Number(options.port);
  return options;
}

function usage(problem) {
  process.stderr.write(`server.mjs: ${problem}\nusage: node server.mjs --port PORT --users FILE [--host 127.0.0.1]\n`);
  process.exit(2);
}

const options = parse_arguments(process.argv.slice(2));

const users = new Map();          // user id -> {id, name, phone}
const user_id_by_token = new Map();
for (const [number, raw] of readFileSync(options.users, "utf8").split("\n").entries()) {
  const line = raw.trim();
  if (line === "") continue;
  const match = /^(\d+) (\S+)$/.exec(line);
  if (match === null || Number(match[1]) < 1 || !Number.isSafeInteger(Number(match[1]))) {
    usage(`${options.users}:${number + 1}: expected '<id> <token>'`);
  }
  const id = Number(match[1]);
  users.set(id, { id, name: `user${id}`, phone: `+1415200${String(id).padStart(4, "0")}` });
  user_id_by_token.set(match[2], id);
}

// ---------------------------------------------------------------------------------------
// The in-memory store

// conversation: {id, kind, title, created_at, opened_by,
//                members: Map user id -> {last_read_id, last_delivered_id},
//                messages: [message] in id order}
const conversations = new Map();
const conversation_ids_by_user = new Map();      // user id -> Set of conversation ids
const direct_by_pair = new Map();                // "low:high" -> conversation
const message_by_client_id = new Map();          // sender id -> Map client_id -> message
let next_conversation_id = 1;
let next_message_id = 1;

function create_conversation(kind, title, member_ids, opened_by) {
  const conversation = {
    id: next_conversation_id++, kind, title, created_at: Date.now(), opened_by,
    members: new Map(), messages: [],
  };
  for (const member_id of member_ids) {
    conversation.members.set(member_id, { last_read_id: 0, last_delivered_id: 0 });
    let ids = conversation_ids_by_user.get(member_id);
    if (ids === undefined) conversation_ids_by_user.set(member_id, ids = new Set());
    ids.add(conversation.id);
  }
  conversations.set(conversation.id, conversation);
  return conversation;
}

// Returns [conversation, created].
function direct_conversation(user_id, other_id) {
  const key = user_id < other_id ? `${user_id}:${other_id}` : `${other_id}:${user_id}`;
  const existing = direct_by_pair.get(key);
  if (existing !== undefined) return [existing, false];
  const conversation = create_conversation("direct", null, [user_id, other_id], user_id);
  direct_by_pair.set(key, conversation);
  return [conversation, true];
}

// The conversation if `user_id` is a member of it, else undefined.
function conversation_of(user_id, conversation_id) {
  const conversation = conversations.get(conversation_id);
  return conversation !== undefined && conversation.members.has(user_id) ? conversation : undefined;
}

// Index of the first message with an id >= `id` (messages are in id order).
function lower_bound(messages, id) {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (messages[middle].id < id) low = middle + 1; else high = middle;
  }
  return low;
}

function conversation_view(conversation, user_id) {
  const members = [...conversation.members.keys()].sort((a, b) => a - b).map((id) => users.get(id));
  let title = conversation.title;
  if (conversation.kind === "direct") {
    title = members.find((member) => member.id !== user_id)?.name ?? null;
  }
  const { messages } = conversation;
  const last_read_id = conversation.members.get(user_id).last_read_id;
  let unread_count = 0;
  for (let index = messages.length - 1; index >= 0 && messages[index].id > last_read_id; index -= 1) {
    if (messages[index].sender_id !== user_id) unread_count += 1;
  }
  return {
    id: conversation.id, kind: conversation.kind, title, members,
    last_message: messages.length > 0 ? messages[messages.length - 1] : null, unread_count,
  };
}

// ---------------------------------------------------------------------------------------
// Validation helpers

const is_id = (value) => Number.isSafeInteger(value) && value > 0;
const is_cursor = (value) => Number.isSafeInteger(value) && value >= 0;
const is_object = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const has_lone_surrogate = (text) => /\p{Cs}/u.test(text);

// Whether `text` has at most `max` characters (code points), without splitting short strings.
function at_most_characters(text, max) {
  if (text.length <= max) return true;
  let count = 0;
  for (const _ of text) if (++count > max) return false;
  return true;
}

const error = (code, message) => ({ error: { code, message } });
const refusal = (code, message) => ({ ok: false, ...error(code, message) });

// ---------------------------------------------------------------------------------------
// REST

function send_json(response, status, value) {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  response.end(body);
}

function read_json(request, response, handle) {
  const chunks = [];
  let size = 0;
  let too_large = false;
  request.on("data", (chunk) => {
    if (too_large) return;
    size += chunk.length;
    if (size > k_max_request_bytes) {
      too_large = true;
      response.setHeader("Connection", "close");
      send_json(response, 413, error("payload_too_large", "The request body is over 1 MB."));
      return;
    }
    chunks.push(chunk);
  });
  request.on("end", () => {
    if (too_large) return;
    let value;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      send_json(response, 400, error("bad_request", "The body is not valid JSON."));
      return;
    }
    handle(value);
  });
}

function authenticate(request) {
  const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "");
  return match === null ? undefined : user_id_by_token.get(match[1]);
}

function create_conversation_route(user_id, body, response) {
  if (!is_object(body) || !Array.isArray(body.members) || body.members.length === 0 || !body.members.every(is_id)) {
    return send_json(response, 400, error("bad_request", "'members' must be a non-empty list of user ids."));
  }
  const others = [...new Set(body.members)].filter((id) => id !== user_id);
  if (others.length === 0) {
    return send_json(response, 400, error("bad_request", "'members' must name someone besides you."));
  }
  if (others.length === 1) {
    if (!users.has(others[0])) return send_json(response, 404, error("user_not_found", "No user has this id."));
    const [conversation, created] = direct_conversation(user_id, others[0]);
    return send_json(response, created ? 201 : 200, { conversation: conversation_view(conversation, user_id) });
  }
  const title = typeof body.title === "string" ? body.title.trim() : "";
  if (title === "" || !at_most_characters(title, k_max_title_characters) || has_lone_surrogate(title)) {
    return send_json(response, 400, error("bad_request", "A group needs a 'title' of 1 to 100 characters."));
  }
  if (!others.every((id) => users.has(id))) {
    return send_json(response, 404, error("user_not_found", "No user has one of these ids."));
  }
  const conversation = create_conversation("group", title, [user_id, ...others], user_id);
  return send_json(response, 201, { conversation: conversation_view(conversation, user_id) });
}

function list_conversations_route(user_id, response) {
  const activity = (conversation) => conversation.messages.at(-1)?.sent_at ?? conversation.created_at;
  const visible = [...(conversation_ids_by_user.get(user_id) ?? [])]
    .map((id) => conversations.get(id))
    // An empty direct conversation shows only to the member who opened it.
    .filter((conversation) => conversation.messages.length > 0 || conversation.kind === "group" || conversation.opened_by === user_id)
    .sort((a, b) => activity(b) - activity(a) || b.id - a.id);
  send_json(response, 200, { conversations: visible.map((conversation) => conversation_view(conversation, user_id)) });
}

function history_route(user_id, conversation_id, query, response) {
  const before = query.get("before");
  const limit = query.get("limit");
  if ((before !== null && !/^\d+$/.test(before)) || (limit !== null && !/^\d+$/.test(limit))) {
    return send_json(response, 400, error("bad_request", "'before' and 'limit' must be numbers."));
  }
  const count = limit === null ? k_history_limit.default : Number(limit);
  if (count < 1 || count > k_history_limit.max) {
    return send_json(response, 400, error("bad_request", "'limit' must be between 1 and 100."));
  }
  const conversation = /^\d+$/.test(conversation_id) ? conversation_of(user_id, Number(conversation_id)) : undefined;
  if (conversation === undefined) return send_json(response, 404, error("not_found", "No such conversation."));
  const { messages } = conversation;
  const end = before === null ? messages.length : lower_bound(messages, Number(before));
  const start = Math.max(0, end - count);
  send_json(response, 200, { messages: messages.slice(start, end), has_more: start > 0 });
}

function handle_request(request, response) {
  request.on("error", () => {});   // a client that goes away mid-body
  const query_start = request.url.indexOf("?");
  const pathname = query_start === -1 ? request.url : request.url.slice(0, query_start);
  const query = new URLSearchParams(query_start === -1 ? "" : request.url.slice(query_start + 1));
  if (pathname === "/healthz" && request.method === "GET") {
    response.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": 2 });
    return response.end("ok");
  }
  const history = /^\/api\/v1\/conversations\/([^/]+)\/messages$/.exec(pathname);
  const known = (pathname === "/api/v1/conversations" && (request.method === "POST" || request.method === "GET"))
    || (history !== null && request.method === "GET");
  if (!known) return send_json(response, 404, error("not_found", "There is nothing here."));
  const user_id = authenticate(request);
  if (user_id === undefined) return send_json(response, 401, error("unauthorized", "A valid bearer token is required."));
  if (history !== null) return history_route(user_id, history[1], query, response);
  if (request.method === "GET") return list_conversations_route(user_id, response);
  read_json(request, response, (body) => create_conversation_route(user_id, body, response));
}

// ---------------------------------------------------------------------------------------
// Socket.IO

const http_server = createServer(handle_request);
const io = new Server(http_server, { serveClient: false, maxHttpBufferSize: 1e6 });
const sockets_by_user = new Map();   // user id -> Set of sockets

// Emits to every socket of every member of `conversation`, except every socket of
// `except_user` (when not null) and `except_socket` (when not null).
function emit_to_members(conversation, { except_user = null, except_socket = null }, event, payload) {
  for (const member_id of conversation.members.keys()) {
    if (member_id === except_user) continue;
    for (const socket of sockets_by_user.get(member_id) ?? []) {
      if (socket !== except_socket) socket.emit(event, payload);
    }
  }
}

// Marks `conversation` delivered to `user_id` up to `up_to`. When the mark moves, the senders
// of the messages it newly covers get a cumulative `delivered` receipt (as Parley does: in a
// group, telling every member about every other member's mark would cost N receipts per ack).
function mark_delivered(conversation, user_id, up_to) {
  const member = conversation.members.get(user_id);
  if (up_to <= member.last_delivered_id) return;
  const { messages } = conversation;
  const senders = new Set();
  for (let index = lower_bound(messages, member.last_delivered_id + 1);
       index < messages.length && messages[index].id <= up_to; index += 1) {
    if (messages[index].sender_id !== user_id) senders.add(messages[index].sender_id);
  }
  member.last_delivered_id = up_to;
  const receipt = { conversation_id: conversation.id, user_id, kind: "delivered", up_to };
  for (const sender of senders) {
    for (const socket of sockets_by_user.get(sender) ?? []) socket.emit("receipt", receipt);
  }
}

function send_message(socket, user_id, payload) {
  if (!is_object(payload)) return refusal("bad_request", "The payload must be an object.");
  const { body, client_id, conversation_id, to } = payload;
  if (typeof body !== "string" || has_lone_surrogate(body)) return refusal("bad_request", "'body' must be a string.");
  const text = body.trim();
  if (text === "") return refusal("bad_request", "'body' is empty.");
  if (!at_most_characters(text, k_max_body_characters)) return refusal("body_too_long", "'body' is over 4000 characters.");
  if (typeof client_id !== "string" || client_id === "" || !at_most_characters(client_id, k_max_client_id_characters)
      || /[\p{Cc}\p{Cs}]/u.test(client_id)) {
    return refusal("bad_request", "'client_id' must be a string of 1 to 100 characters.");
  }
  const has_conversation = conversation_id !== undefined && conversation_id !== null;
  const has_to = to !== undefined && to !== null;
  if (has_conversation === has_to || !is_id(has_conversation ? conversation_id : to)) {
    return refusal("bad_request", "Give exactly one of 'conversation_id' and 'to'.");
  }

  let sent = message_by_client_id.get(user_id);
  if (sent === undefined) message_by_client_id.set(user_id, sent = new Map());
  const original = sent.get(client_id);
  if (original !== undefined) return { ok: true, message: original };

  let conversation;
  if (has_to) {
    if (to === user_id) return refusal("bad_request", "You cannot send a message to yourself.");
    if (!users.has(to)) return refusal("not_found", "No such user.");
    [conversation] = direct_conversation(user_id, to);
  } else {
    conversation = conversation_of(user_id, conversation_id);
    if (conversation === undefined) return refusal("not_found", "No such conversation.");
  }

  const message = {
    id: next_message_id++, conversation_id: conversation.id, sender_id: user_id,
    body: text, sent_at: Date.now(), client_id,
  };
  conversation.messages.push(message);
  sent.set(client_id, message);
  // What they answer, they have seen: the sender's own marks move silently.
  const sender = conversation.members.get(user_id);
  sender.last_read_id = sender.last_delivered_id = message.id;

  // Recipients first, then the sender's ack (the caller sends it when this returns).
  for (const member_id of conversation.members.keys()) {
    for (const target of sockets_by_user.get(member_id) ?? []) {
      if (target === socket) continue;
      target.emit("message", message, () => mark_delivered(conversation, member_id, message.id));
    }
  }
  return { ok: true, message };
}

function read_messages(socket, user_id, payload) {
  if (!is_object(payload) || !is_id(payload.conversation_id) || !is_cursor(payload.up_to)) {
    return refusal("bad_request", "Give 'conversation_id' and 'up_to' as ids.");
  }
  const conversation = conversation_of(user_id, payload.conversation_id);
  if (conversation === undefined) return refusal("not_found", "No such conversation.");
  const last_id = conversation.messages.at(-1)?.id ?? 0;
  const up_to = Math.min(payload.up_to, last_id);
  const member = conversation.members.get(user_id);
  if (up_to > member.last_read_id) {
    member.last_read_id = up_to;
    // Read implies delivered.
    mark_delivered(conversation, user_id, up_to);
    // The other members and the reader's other sockets.
    emit_to_members(conversation, { except_socket: socket }, "receipt",
      { conversation_id: conversation.id, user_id, kind: "read", up_to });
  }
  return { ok: true };
}

function sync_messages(user_id, payload) {
  if (!is_object(payload) || !is_cursor(payload.after)) return refusal("bad_request", "'after' must be a message id.");
  const limit = payload.limit ?? k_sync_limit.default;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > k_sync_limit.max) {
    return refusal("bad_request", "'limit' must be between 1 and 500.");
  }
  // Take up to limit + 1 from each conversation, merge by id, cut.
  let found = [];
  for (const conversation_id of conversation_ids_by_user.get(user_id) ?? []) {
    const { messages } = conversations.get(conversation_id);
    const start = lower_bound(messages, payload.after + 1);
    if (start < messages.length) found = found.concat(messages.slice(start, start + limit + 1));
  }
  found.sort((a, b) => a.id - b.id);
  return { ok: true, messages: found.slice(0, limit), has_more: found.length > limit };
}

function send_typing(socket, user_id, payload) {
  if (!is_object(payload) || !is_id(payload.conversation_id) || typeof payload.typing !== "boolean") {
    return refusal("bad_request", "Give 'conversation_id' and 'typing'.");
  }
  const conversation = conversation_of(user_id, payload.conversation_id);
  if (conversation === undefined) return refusal("not_found", "No such conversation.");
  emit_to_members(conversation, { except_user: user_id }, "typing",
    { conversation_id: conversation.id, user_id, typing: payload.typing });
  return { ok: true };
}

io.use((socket, next) => {
  const token = socket.handshake.auth?.token;
  const user_id = typeof token === "string" ? user_id_by_token.get(token) : undefined;
  if (user_id === undefined) return next(new Error("unauthorized"));
  socket.data.user_id = user_id;
  next();
});

io.on("connection", (socket) => {
  const { user_id } = socket.data;
  let own = sockets_by_user.get(user_id);
  if (own === undefined) sockets_by_user.set(user_id, own = new Set());
  own.add(socket);
  socket.on("disconnect", () => {
    own.delete(socket);
    if (own.size === 0 && sockets_by_user.get(user_id) === own) sockets_by_user.delete(user_id);
  });

  const handlers = {
    "message:send": (payload) => send_message(socket, user_id, payload),
    "message:read": (payload) => read_messages(socket, user_id, payload),
    "messages:sync": (payload) => sync_messages(user_id, payload),
    "typing": (payload) => send_typing(socket, user_id, payload),
  };
  // Every event comes through here: the payload is the first argument unless it is the ack.
  socket.onAny((event, ...args) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    const handler = Object.hasOwn(handlers, event) ? handlers[event] : null;
    let answer;
    try {
      answer = handler === null ? refusal("bad_request", "unknown event") : handler(args[0]);
    } catch (failure) {
      process.stderr.write(`peer: ${event} failed: ${failure?.stack ?? failure}\n`);
      answer = refusal("internal_error", "The server failed to handle this event.");
    }
    if (ack !== null) ack(answer);
  });
});

// ---------------------------------------------------------------------------------------
// Start and stop

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  // io.close() disconnects every socket, closes Engine.IO and then the HTTP server; idle
  // keep-alive connections would hold that up, so they go too (Node >= 18.2).
  io.close(() => process.exit(0));
  http_server.closeAllConnections?.();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

http_server.listen(options.port, options.host, () => {
  process.stdout.write(`peer.ready port=${http_server.address().port} pid=${process.pid}\n`);
});

// Shared helpers for the real-time end-to-end tests (node's built-in test runner, Node 18+).
//
// `Parley.start()` runs the real binary (`PARLEY_BINARY`, else ../../../build/parley) on a
// free loopback port with its own temporary database, reads its log (the port, and the codes
// the development SMS sender writes there) and speaks HTTP to it. Nothing here sleeps to
// synchronise: every wait is on an event (a log line, a socket event, the process) with a
// generous timeout that is only reached when something is broken.

import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

import { io } from "socket.io-client";

export { io }; // for the scripts under bench/, which have no node_modules of their own
import WebSocket from "ws";

const here = path.dirname(fileURLToPath(import.meta.url));

export const BINARY = process.env.PARLEY_BINARY || path.resolve(here, "../../../build/parley");
export const TIMEOUT = 20_000; // ms; only reached when something is broken
export const PHONE = "+14155550123";
// The v2 message object's fields, sorted (API.md, "Conventions").
export const MESSAGE_FIELDS = ["attachments", "body", "client_id", "conversation_id", "deleted", "edited_at", "id",
                               "reactions", "reply_to", "sender_id", "sent_at", "seq", "updated_seq"];

const LISTENING = /\bhttp\.listening address=(\S+):(\d+)/;
const READY = /\bserver\.ready\b/;
const DEV_SMS = /\bsms\.development to=(\S+) code=(\d+)/;

/** The three ways the official client is used: its default (polling, then the upgrade to
 *  WebSocket), WebSocket only, and polling only. `transport` is where a session settles. */
export const MODES = [
  { name: "default (polling then upgrade)", options: {}, transport: "websocket" },
  { name: "websocket only", options: { transports: ["websocket"] }, transport: "websocket" },
  { name: "polling only", options: { transports: ["polling"] }, transport: "polling" },
];

/** Resolves with the arguments of the next `event` on `emitter` (an EventEmitter, a
 *  socket.io-client Socket/Manager or a `ws` WebSocket); rejects after `timeout` ms, or at
 *  once on any event listed in `failOn` (with what it carried). */
export function once(emitter, event, { timeout = TIMEOUT, failOn = [] } = {}) {
  return new Promise((resolve, reject) => {
    const cleanups = [];
    const done = (settle, value) => {
      for (const cleanup of cleanups) cleanup();
      settle(value);
    };
    const listen = (name, handler) => {
      emitter.on(name, handler);
      cleanups.push(() => emitter.off(name, handler));
    };
    listen(event, (...args) => done(resolve, args));
    for (const name of failOn) {
      listen(name, (...args) =>
        done(reject, new Error(`'${name}' while waiting for '${event}': ${describe(args)}`)));
    }
    const timer = setTimeout(
      () => done(reject, new Error(`timed out after ${timeout} ms waiting for '${event}'`)),
      timeout);
    cleanups.push(() => clearTimeout(timer));
  });
}

function describe(args) {
  return args.map((arg) => (arg instanceof Error ? arg.stack || arg.message : String(arg))).join(" ");
}

/** Resolves once `predicate()` is true, re-checking on each `event` of `emitter`; rejects
 *  after `timeout` ms or on any event listed in `failOn`. */
export function until(emitter, event, predicate, { timeout = TIMEOUT, what = event, failOn = [] } = {}) {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate()) finish(resolve);
    };
    const fail = Object.fromEntries(failOn.map((name) => [name, (...args) =>
      finish(reject, new Error(`'${name}' while waiting for ${what}: ${describe(args)}`))]));
    const finish = (settle, value) => {
      emitter.off(event, check);
      for (const [name, handler] of Object.entries(fail)) emitter.off(name, handler);
      clearTimeout(timer);
      settle(value);
    };
    const timer = setTimeout(
      () => finish(reject, new Error(`timed out after ${timeout} ms waiting for ${what}`)), timeout);
    emitter.on(event, check);
    for (const [name, handler] of Object.entries(fail)) emitter.on(name, handler);
  });
}

/** Rejects after `ms` with a message naming `what`; for Promise.race around plain promises. */
export function deadline(promise, what, ms = TIMEOUT) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function environment() {
  // The tests own the configuration: drop anything the caller's shell may have set.
  const result = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("PARLEY_") && !name.startsWith("TWILIO_")) result[name] = value;
  }
  // Two I/O threads whatever the machine's cores, so that a sender and a receiver on different
  // threads (the hand-offs between them) are exercised on a 2-core machine too.
  result.PARLEY_THREADS = "2";
  return result;
}

/** One `parley serve` process on 127.0.0.1 with a database in a temporary directory. */
export class Parley extends EventEmitter {
  /** `flags`: extra command-line flags. `listen`: HOST:PORT (port 0 picks a free one).
   *  `directory`: reuse another server's directory (and database). */
  static async start(flags = [], { listen = "127.0.0.1:0", directory } = {}) {
    const server = new Parley(flags, { listen, directory });
    try {
      const [, host, port] = await server.waitForLog(LISTENING);
      await server.waitForLog(READY);
      server.host = host;
      server.port = Number(port);
      server.url = `http://${host}:${port}`;
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  constructor(flags, { listen, directory }) {
    super();
    this.setMaxListeners(0);
    this.ownsDirectory = directory === undefined;
    this.directory = directory ?? mkdtempSync(path.join(tmpdir(), "parley-e2e-node-"));
    this.lines = [];
    this.codes = new Map(); // phone -> codes not yet taken
    this.clients = new Set(); // sockets to close on stop()
    this.exited = false;
    this.process = spawn(
      BINARY,
      ["serve", "--listen", listen, "--database", path.join(this.directory, "parley.db"), ...flags],
      { env: environment(), stdio: ["ignore", "ignore", "pipe"] });
    this.pid = this.process.pid;
    this.exit = new Promise((resolve) => {
      // "close": the process has exited and its log has been read to the end.
      this.process.on("close", (code, signal) => resolve({ code, signal }));
      this.process.on("error", (error) => resolve({ code: null, signal: null, error }));
    });
    this.exit.then(() => {
      this.exited = true;
      this.emit("line");
    });
    readline.createInterface({ input: this.process.stderr, crlfDelay: Infinity }).on("line", (line) => {
      this.lines.push(line);
      const sms = DEV_SMS.exec(line);
      if (sms) {
        if (!this.codes.has(sms[1])) this.codes.set(sms[1], []);
        this.codes.get(sms[1]).push(sms[2]);
      }
      this.emit("line", line);
    });
  }

  log() {
    return this.lines.join("\n");
  }

  /** The first match of `pattern` in log lines from index `from` on. */
  waitForLog(pattern, { from = 0, timeout = TIMEOUT } = {}) {
    let index = from;
    let match = null;
    const scan = () => {
      for (; index < this.lines.length; index += 1) {
        match = pattern.exec(this.lines[index]);
        if (match) return true;
      }
      if (this.exited) throw new Error(`server exited without logging ${pattern}:\n${this.log()}`);
      return false;
    };
    return new Promise((resolve, reject) => {
      const check = () => {
        try {
          if (scan()) finish(resolve, match);
        } catch (error) {
          finish(reject, error);
        }
      };
      const finish = (settle, value) => {
        this.off("line", check);
        clearTimeout(timer);
        settle(value);
      };
      const timer = setTimeout(
        () => finish(reject, new Error(`timed out waiting for ${pattern}:\n${this.log()}`)), timeout);
      this.on("line", check);
      check();
    });
  }

  /** The next code the development sender logged for `phone` (oldest first). */
  async waitForCode(phone = PHONE) {
    await until(this, "line", () => (this.codes.get(phone) ?? []).length > 0 || this.exited,
                { what: `a code for ${phone} in the log` });
    const codes = this.codes.get(phone) ?? [];
    if (codes.length === 0) throw new Error(`server exited before sending a code to ${phone}`);
    return codes.shift();
  }

  /** One HTTP request on a fresh connection. `body`: an object (sent as JSON) or a string. */
  request(method, requestPath, { body, token, cookie, headers = {} } = {}) {
    const sent = { ...headers };
    let payload;
    if (body !== undefined) {
      payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      if (typeof body !== "string" && !Buffer.isBuffer(body)) sent["Content-Type"] ??= "application/json";
      sent["Content-Length"] = Buffer.byteLength(payload);
    }
    if (token !== undefined) sent.Authorization = `Bearer ${token}`;
    if (cookie !== undefined) sent.Cookie = `parley_session=${cookie}`;
    return new Promise((resolve, reject) => {
      const request = http.request(
        { host: this.host, port: this.port, method, path: requestPath, headers: sent, agent: false,
          timeout: TIMEOUT },
        (response) => {
          const chunks = [];
          response.on("data", (chunk) => chunks.push(chunk));
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({
              status: response.statusCode,
              headers: response.headers,
              body: text,
              json: () => JSON.parse(text),
            });
          });
          response.on("error", reject);
        });
      request.on("timeout", () => request.destroy(new Error(`${method} ${requestPath} timed out`)));
      request.on("error", reject);
      request.end(payload);
    });
  }

  /** Signs in through the development sender: `{token, cookie, user}`. */
  async signIn(phone = PHONE, name = "Alice") {
    const asked = await this.request("POST", "/api/v1/auth/code", { body: { phone } });
    if (asked.status !== 202) throw new Error(`POST /api/v1/auth/code: ${asked.status} ${asked.body}`);
    const code = await this.waitForCode(phone);
    const verified = await this.request("POST", "/api/v1/auth/verify", { body: { phone, code, name } });
    if (verified.status !== 200) throw new Error(`POST /api/v1/auth/verify: ${verified.status} ${verified.body}`);
    const { token, user } = verified.json();
    const setCookie = [].concat(verified.headers["set-cookie"] ?? []).join("\n");
    const cookie = /parley_session=([^;\s]+)/.exec(setCookie)?.[1];
    if (!cookie) throw new Error(`verify set no parley_session cookie: ${setCookie}`);
    return { token, cookie, user };
  }

  async healthy() {
    const response = await this.request("GET", "/healthz");
    return response.status === 200 && response.json().status === "ok";
  }

  /** Resident memory of the server process, in KiB (VmRSS in /proc/PID/status). */
  rssKiB() {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!match) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(match[1]);
  }

  /** Whether the binary runs under AddressSanitizer (its memory figures are not comparable). */
  sanitized() {
    try {
      return /libasan|libubsan/.test(readFileSync(`/proc/${this.pid}/maps`, "utf8"));
    } catch {
      return false;
    }
  }

  /** A socket.io-client socket to `namespace` (a Manager of its own), closed by stop().
   *  No reconnection unless the options ask for it. */
  socket(namespace = "/", options = {}) {
    const socket = io(this.url + namespace, {
      forceNew: true,
      reconnection: false,
      timeout: TIMEOUT,
      ...options,
    });
    this.clients.add(socket);
    return socket;
  }

  /** A raw WebSocket to `path` (e.g. "/socket.io/?EIO=4&transport=websocket"), closed by
   *  stop(). Every frame it receives is queued; see RawFrames. */
  websocket(requestPath, options = {}) {
    const ws = new WebSocket(`ws://${this.host}:${this.port}${requestPath}`, options);
    this.clients.add(ws);
    return new RawFrames(ws);
  }

  /** SIGTERM (the drain), then the exit status. */
  async terminate() {
    if (!this.exited) this.process.kill("SIGTERM");
    return deadline(this.exit, "the server to exit after SIGTERM");
  }

  /** Closes every client opened through this object, kills the server, removes its files. */
  async stop() {
    for (const client of this.clients) {
      try {
        if (client instanceof WebSocket) client.terminate();
        else client.disconnect();
      } catch {
        // already closed
      }
    }
    this.clients.clear();
    if (!this.exited) this.process.kill("SIGKILL");
    await deadline(this.exit, "the server to exit after SIGKILL");
    if (this.ownsDirectory) rmSync(this.directory, { recursive: true, force: true });
  }
}

/** Runs `body(server)` against a fresh server started with `flags`; always stops it. */
export async function withServer(flags, body) {
  const server = await Parley.start(flags);
  try {
    return await body(server);
  } catch (error) {
    error.message += `\n--- server log ---\n${server.log()}`;
    throw error;
  } finally {
    await server.stop();
  }
}

/** A raw `ws` WebSocket whose frames are queued as they arrive, so that nothing is lost
 *  between two awaits: `next()` takes the oldest frame ({text} or {binary}). */
export class RawFrames extends EventEmitter {
  constructor(ws) {
    super();
    this.setMaxListeners(0);
    this.ws = ws;
    this.frames = [];
    this.closed = null; // {code, reason} once closed
    this.opened = new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
      ws.once("close", (code) => reject(new Error(`closed (${code}) before it opened`)));
    });
    this.opened.catch(() => {});
    ws.on("error", () => {}); // the close event follows
    ws.on("message", (data, isBinary) => {
      this.frames.push(isBinary ? { binary: Buffer.from(data) } : { text: data.toString("utf8") });
      this.emit("change");
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.emit("change");
    });
  }

  send(data) {
    this.ws.send(data);
  }

  /** The next frame, skipping Engine.IO pings (answered with a pong) unless `pings` is set. */
  async next({ pings = false, what = "a frame" } = {}) {
    for (;;) {
      await until(this, "change", () => this.frames.length > 0 || this.closed !== null, { what });
      if (this.frames.length === 0) {
        if (this.closed === null) continue; // another waiter took the frame
        throw new Error(`connection closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`);
      }
      const frame = this.frames.shift();
      if (!pings && frame.text === "2") {
        this.send("3");
        continue;
      }
      return frame;
    }
  }

  /** The next text frame's text (pings answered and skipped). */
  async text(what = "a text frame") {
    const frame = await this.next({ what });
    if (frame.text === undefined) throw new Error(`expected ${what}, got a binary frame`);
    return frame.text;
  }

  /** Waits for the server to close the connection; returns {code, reason}. */
  async closedByServer(what = "the server to close the connection") {
    await until(this, "change", () => this.closed !== null, { what });
    return this.closed;
  }

  terminate() {
    this.ws.terminate();
  }
}

/** Waits for a socket.io-client socket's `connect`; rejects on `connect_error`. */
export async function connected(socket) {
  if (socket.connected) return socket.id;
  await once(socket, "connect", { failOn: ["connect_error"] });
  return socket.id;
}

/** Waits for `connect_error` and returns the error; rejects if the socket connects. */
export async function rejected(socket) {
  const [error] = await once(socket, "connect_error", { failOn: ["connect"] });
  return error;
}

/** Waits until the socket's Engine.IO connection is on `transport` (for the default mode:
 *  the upgrade to WebSocket has completed). */
export async function settled(socket, transport) {
  const engine = socket.io.engine;
  await until(engine, "upgrade", () => engine.transport?.name === transport,
              { what: `the transport to be ${transport} (is ${engine.transport?.name})` });
}

/** Emits `event` with `args` and resolves with every argument of the acknowledgement. */
export function emitWithAckArgs(socket, event, ...args) {
  return deadline(new Promise((resolve, reject) => {
    const lost = (reason) => reject(new Error(`disconnected (${reason}) while waiting for the ack of '${event}'`));
    socket.once("disconnect", lost);
    socket.emit(event, ...args, (...reply) => {
      socket.off("disconnect", lost);
      resolve(reply);
    });
  }), `the ack of '${event}'`);
}

#!/usr/bin/env node
// Server memory per idle, authenticated Socket.IO WebSocket connection.
//
//   node bench/idle_memory.mjs [--connections N] [--warmup N] [--binary PATH] [-- FLAGS...]
//   node bench/idle_memory.mjs --url http://HOST:PORT --pid PID (--token TOKEN | --log FILE)
//
// Without --url it starts `parley serve` itself (PARLEY_BINARY, --binary, else build/parley)
// on a free loopback port with a temporary database; anything after `--` is passed to it.
// It signs one user in through the development SMS sender (the code is read from the server
// log: `sms.development to=… code=…`) and uses that one token for every connection.
//
// Each connection is raw Engine.IO/Socket.IO over a `ws` WebSocket (the `ws` package of
// tests/e2e/node): GET /socket.io/?EIO=4&transport=websocket, wait for the open packet, send
// 40{"token":…}, wait for 40{…}. Pings are answered, nothing else is sent. `--warmup`
// connections (default 100) are opened first and stay open, so that one-time costs (thread
// caches, arenas, the first use of a code path) are not counted; then VmRSS is read from
// /proc/PID/status, N more connections are opened, the server's `parley_realtime_sockets`
// gauge is checked to count them all, and VmRSS is read again:
//
//   bytes per connection = (VmRSS after - VmRSS before) / N
//
// Finally every connection is closed and, once the server's parley_realtime_sessions gauge is
// 0, VmRSS is read a third time (rss_after_close_kib: what the allocator keeps).
//
// Open file limits: the server and this process each need more than N + warmup
// descriptors (`ulimit -n`). The server must allow that many connections from 127.0.0.1
// (this script passes --max-connections-per-address when it starts the server).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const require = createRequire(path.join(root, "tests/e2e/node/package.json"));
const WebSocket = require("ws");

const PHONE = "+14155550199";
const TIMEOUT = 60_000;

function parseArguments(argv) {
  const options = { connections: 5000, warmup: 100, batch: 200, serverFlags: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const name = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${name} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (name) {
      case "--connections": options.connections = Number(value()); break;
      case "--warmup": options.warmup = Number(value()); break;
      case "--batch": options.batch = Number(value()); break;
      case "--binary": options.binary = value(); break;
      case "--url": options.url = value().replace(/\/+$/, ""); break;
      case "--pid": options.pid = Number(value()); break;
      case "--token": options.token = value(); break;
      case "--log": options.log = value(); break;
      case "--": options.serverFlags = argv.slice(i + 1); i = argv.length; break;
      case "--help":
      case "-h":
        console.log(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 25)
          .map((line) => line.replace(/^\/\/ ?/, "")).join("\n"));
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${name} (see --help)`);
    }
  }
  if (options.url && !options.pid) throw new Error("--url needs --pid (to read the server's VmRSS)");
  if (options.url && !options.token && !options.log) throw new Error("--url needs --token or --log FILE");
  return options;
}

function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

function withTimeout(promise, what, ms = TIMEOUT) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** The server's log lines as they come, and a way to wait for one matching a pattern. */
class LogWatch {
  constructor() {
    this.lines = [];
    this.waiters = [];
  }
  push(line) {
    this.lines.push(line);
    for (const waiter of [...this.waiters]) waiter();
  }
  wait(pattern, what, from = 0) {
    return withTimeout(new Promise((resolve) => {
      let index = from;
      const check = () => {
        for (; index < this.lines.length; index += 1) {
          const match = pattern.exec(this.lines[index]);
          if (match) {
            this.waiters = this.waiters.filter((waiter) => waiter !== check);
            resolve(match);
            return;
          }
        }
      };
      this.waiters.push(check);
      check();
    }), what);
  }
}

async function startServer(options, log) {
  const binary = options.binary || process.env.PARLEY_BINARY || path.join(root, "build/parley");
  const directory = mkdtempSync(path.join(tmpdir(), "parley-bench-"));
  const flags = ["serve", "--listen", "127.0.0.1:0", "--database", path.join(directory, "parley.db"),
                 "--max-connections-per-address", String(options.connections + options.warmup + 100),
                 ...options.serverFlags];
  const child = spawn(binary, flags, { stdio: ["ignore", "ignore", "pipe"] });
  readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on("line", (line) => log.push(line));
  const exited = new Promise((resolve) => child.on("close", resolve));
  exited.then((code) => log.push(`(server exited: ${code})`));
  const [, host, port] = await log.wait(/\bhttp\.listening address=(\S+):(\d+)/, "the server to listen");
  await log.wait(/\bserver\.ready\b/, "the server to be ready");
  return {
    url: `http://${host}:${port}`,
    pid: child.pid,
    stop: async () => {
      child.kill("SIGKILL");
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
    binary,
    flags,
  };
}

async function request(url, method, body) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

async function signIn(url, log) {
  const from = log.lines.length;
  const asked = await request(`${url}/api/v1/auth/code`, "POST", { phone: PHONE });
  if (asked.status !== 202) throw new Error(`POST /api/v1/auth/code: ${asked.status} ${asked.text}`);
  const escaped = PHONE.replace(/\+/g, "\\+");
  const [, code] = await log.wait(new RegExp(`\\bsms\\.development to=${escaped} code=(\\d+)`),
                                  "the development code in the server log", from);
  const verified = await request(`${url}/api/v1/auth/verify`, "POST", { phone: PHONE, code, name: "Bench" });
  if (verified.status !== 200) throw new Error(`POST /api/v1/auth/verify: ${verified.status} ${verified.text}`);
  return JSON.parse(verified.text).token;
}

/** One idle Socket.IO connection: resolves once the CONNECT to "/" is accepted. */
function openConnection(url, token, sockets) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
    sockets.push(ws);
    let joined = false;
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString("utf8");
      if (text === "2") {
        ws.send("3");
      } else if (text.startsWith("0{")) {
        ws.send(`40${JSON.stringify({ token })}`);
      } else if (text.startsWith("40{") && !joined) {
        joined = true;
        resolve();
      } else if (text.startsWith("44")) {
        reject(new Error(`CONNECT refused: ${text}`));
      }
    });
    ws.on("error", (error) => { if (!joined) reject(error); });
    ws.on("close", (code) => { if (!joined) reject(new Error(`closed (${code}) before CONNECT`)); });
  });
}

async function openMany(url, token, count, batch, sockets) {
  for (let start = 0; start < count; start += batch) {
    const wave = [];
    for (let i = start; i < Math.min(start + batch, count); i += 1) wave.push(openConnection(url, token, sockets));
    await withTimeout(Promise.all(wave), `connections ${start}..${start + wave.length - 1}`);
  }
}

async function gauge(url, name) {
  const { text } = await request(`${url}/metrics`, "GET");
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return match ? Number(match[1]) : NaN;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const log = new LogWatch();
  let server = null;
  let tail = null;
  let url = options.url;
  let pid = options.pid;
  if (!url) {
    server = await startServer(options, log);
    url = server.url;
    pid = server.pid;
  } else if (options.log) {
    // An external server: follow its log file for the code.
    tail = spawn("tail", ["-n", "0", "-F", options.log], { stdio: ["ignore", "pipe", "ignore"] });
    readline.createInterface({ input: tail.stdout }).on("line", (line) => log.push(line));
  }
  const sockets = [];
  try {
    const token = options.token || await signIn(url, log);
    const startRss = rssBytes(pid);
    await openMany(url, token, options.warmup, options.batch, sockets);
    const before = rssBytes(pid);
    await openMany(url, token, options.connections, options.batch, sockets);
    const expected = options.warmup + options.connections;
    const counted = await gauge(url, "parley_realtime_sockets");
    if (counted !== expected) throw new Error(`the server counts ${counted} sockets, expected ${expected}`);
    const after = rssBytes(pid);
    const perConnection = (after - before) / options.connections;
    // Then all of them close: what the server keeps afterwards (allocator caches, arenas).
    for (const ws of sockets.splice(0)) ws.terminate();
    await withTimeout((async () => {
      while (await gauge(url, "parley_realtime_sessions") !== 0) {
        await new Promise((resolve) => setTimeout(resolve, 100)); // polling the server's gauge
      }
    })(), "the server to close every session");
    const closed = rssBytes(pid);
    const result = {
      server: server ? `${server.binary} ${server.flags.join(" ")}` : url,
      connections: options.connections,
      warmup: options.warmup,
      rss_start_kib: Math.round(startRss / 1024),
      rss_before_kib: Math.round(before / 1024),
      rss_after_kib: Math.round(after / 1024),
      rss_after_close_kib: Math.round(closed / 1024),
      bytes_per_connection: Math.round(perConnection),
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(`${Math.round(perConnection)} bytes of server RSS per idle Socket.IO WebSocket ` +
                `(${options.connections} connections)`);
  } finally {
    for (const ws of sockets) ws.terminate();
    if (server) await server.stop();
    if (tail) tail.kill();
  }
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});

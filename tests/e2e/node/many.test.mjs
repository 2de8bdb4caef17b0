// 1,000 concurrent Socket.IO connections (socket.io-client, WebSocket only) from this one
// process against `parley serve --compliance`: every one connects and receives its own
// "auth" event and a "message-back", the server's resident memory stays bounded, and the
// server is healthy after they all close. Counts and memory are asserted, never times.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { connected, once, until, withServer } from "./harness.mjs";

const CONNECTIONS = 1000;
const WAVE = 50; // opened (and then sent an event) at a time; all of them stay open together
// Server memory per connection, resident growth divided by the count. Generous: the goal
// for an idle WebSocket connection is a few KiB. Under AddressSanitizer (redzones, quarantine
// of freed memory) the figure means little, so the bound is only a guard against leaks.
const BOUND_KIB = 64;
const SANITIZED_BOUND_KIB = 1024;

describe(`${CONNECTIONS} concurrent connections`, { timeout: 180_000 }, () => {
  it("all connect, each receives its events, memory stays bounded, the server stays healthy", async (t) => {
    // Explicit heartbeat flags over the compliance mode's 300 ms / 200 ms (see
    // compliance.test.mjs): a thousand connections on a busy machine are not a heartbeat test.
    await withServer(["--compliance", "--ping-interval", "5000", "--ping-timeout", "5000",
                      "--max-connections-per-address", String(CONNECTIONS + 100)],
                     async (server) => {
      // Warm up: one connection opened and closed, so that one-time allocations are not
      // counted per connection.
      const warm = server.socket("/", { transports: ["websocket"] });
      await connected(warm);
      warm.disconnect();
      const before = server.rssKiB();

      const sockets = [];
      const auths = new Map(); // socket index -> auth object received
      const backs = new Map(); // socket index -> message-back argument received
      const disconnects = []; // reasons
      for (let start = 0; start < CONNECTIONS; start += WAVE) {
        const wave = [];
        for (let i = start; i < Math.min(start + WAVE, CONNECTIONS); i += 1) {
          const socket = server.socket("/", { transports: ["websocket"], auth: { index: i } });
          socket.on("auth", (auth) => auths.set(i, auth));
          socket.on("message-back", (value) => backs.set(i, value));
          socket.on("disconnect", (reason) => disconnects.push(`${i}: ${reason}`));
          sockets.push(socket);
          wave.push(connected(socket));
        }
        await Promise.all(wave);
      }
      assert.equal(sockets.filter((socket) => socket.connected).length, CONNECTIONS);
      assert.equal(new Set(sockets.map((socket) => socket.id)).size, CONNECTIONS, "distinct socket ids");

      // Each one gets an event addressed to it alone (asked for in waves, while all are open).
      for (let start = 0; start < CONNECTIONS; start += WAVE) {
        const wave = sockets.slice(start, start + WAVE);
        wave.forEach((socket, k) => socket.emit("message", `for ${start + k}`));
        await Promise.all(wave.map((socket, k) =>
          until(socket, "message-back", () => backs.has(start + k) && auths.has(start + k),
                { what: `the events of socket ${start + k}`, failOn: ["disconnect"] })));
      }
      assert.equal(auths.size, CONNECTIONS);
      assert.equal(backs.size, CONNECTIONS);
      sockets.forEach((_, i) => {
        assert.deepEqual(auths.get(i), { index: i });
        assert.equal(backs.get(i), `for ${i}`);
      });
      assert.deepEqual(disconnects, [], "no connection was lost");

      const after = server.rssKiB();
      const perConnection = (after - before) / CONNECTIONS;
      const bound = server.sanitized() ? SANITIZED_BOUND_KIB : BOUND_KIB;
      t.diagnostic(`server VmRSS ${before} KiB → ${after} KiB with ${CONNECTIONS} connections: `
                  + `${perConnection.toFixed(2)} KiB per connection (bound ${bound} KiB)`);
      assert.ok(perConnection < bound,
                `server memory grew ${perConnection.toFixed(1)} KiB per connection (bound ${bound})`);

      // Close them all; the server is still healthy and serving.
      for (const socket of sockets) socket.disconnect();
      assert.equal(sockets.filter((socket) => socket.connected).length, 0);
      assert.ok(await server.healthy());
      const fresh = server.socket("/", { transports: ["websocket"] });
      const auth = once(fresh, "auth");
      await connected(fresh);
      assert.deepEqual((await auth)[0], {});
    });
  });
});

// The Socket.IO layer against the upstream suite's server (`parley serve --compliance`) with
// the official socket.io-client, in its three transport modes: acks both ways, binary round
// trips, a burst of events, namespaces, a client that stops answering pings, reconnection
// after the server goes away.
//
// The compliance server: on connect to "/" or "/custom" it emits "auth" with the CONNECT auth
// object; "message" → "message-back" with the same args; "message-with-ack" → ack with the
// same args; "ask" → "question" (same args) with an ack callback, whose arguments come back
// in "answer". The mode's heartbeat is the upstream suite's 300 ms / 200 ms, and heartbeat flags
// win over it (raw.test.mjs checks both). socket.io-client drops a connection whose next ping
// is more than 500 ms late, and the server drops one whose pong is more than 200 ms late; a
// loaded machine can reach both. So these tests use a long heartbeat, except the test of a
// client that stops answering: pings every 300 ms, 2 s to answer. That test waits for the
// server's drop, and it switches off the client's own watchdog once connected.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MODES, Parley, TIMEOUT, connected, deadline, emitWithAckArgs, once, rejected, settled, until,
  withServer,
} from "./harness.mjs";

const COMPLIANCE = ["--compliance", "--ping-interval", "5000", "--ping-timeout", "5000"];
const SHORT_HEARTBEAT = ["--compliance", "--ping-interval", "300", "--ping-timeout", "2000"];
const BURST = 1000;

/** Buffers (and typed arrays) compared by content, whatever their exact class. */
function normalise(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return { bytes: Buffer.from(value instanceof ArrayBuffer ? new Uint8Array(value) : value).toString("hex") };
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalise(item)]));
  }
  return value;
}

function assertSameData(actual, expected, message) {
  assert.deepEqual(normalise(actual), normalise(expected), message);
}

// Text that is easy to get wrong: multi-byte UTF-8, an astral character, the polling record
// separator \x1e and other control characters, quotes and backslashes.
const TRICKY = "héllo ✓ 😀 \u001e sep \u0000 nul \n\t \"quoted\" \\ back";

for (const mode of MODES) {
  describe(`socket.io-client, ${mode.name}, compliance server`, { timeout: 6 * TIMEOUT }, () => {
    it("connects to / and /custom on one connection, each receiving its auth object", async () => {
      await withServer(COMPLIANCE, async (server) => {
        const main = server.socket("/", { ...mode.options, auth: { token: "js-123", n: [1, 2] } });
        const auth = once(main, "auth");
        await connected(main);
        assert.deepEqual((await auth)[0], { token: "js-123", n: [1, 2] });

        // A second namespace on the same Manager connects by itself (autoConnect); calling
        // connect() as well would send a second CONNECT, which closes the connection.
        const custom = main.io.socket("/custom", { auth: { token: "abc" } });
        const customAuth = once(custom, "auth");
        await connected(custom);
        assert.deepEqual((await customAuth)[0], { token: "abc" });
        assert.notEqual(custom.id, main.id);
        assert.equal(custom.io, main.io, "one Engine.IO connection for both namespaces");

        // Without auth the object is {}.
        const bare = server.socket("/", mode.options);
        const bareAuth = once(bare, "auth");
        await connected(bare);
        assert.deepEqual((await bareAuth)[0], {});

        // Leaving /custom leaves / working.
        custom.disconnect();
        const reply = await emitWithAckArgs(main, "message-with-ack", "still here");
        assert.deepEqual(reply, ["still here"]);
        await settled(main, mode.transport);
      });
    });

    it("refuses an unknown namespace with 'Invalid namespace'", async () => {
      await withServer(COMPLIANCE, async (server) => {
        const socket = server.socket("/random", mode.options);
        const error = await rejected(socket);
        assert.equal(error.message, "Invalid namespace");
      });
    });

    it("client → server emit with ack: the ack carries the same arguments", async () => {
      await withServer(COMPLIANCE, async (server) => {
        const socket = server.socket("/", mode.options);
        await connected(socket);
        assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack", 1, "2", { 3: [false] }),
                         [1, "2", { 3: [false] }]);
        assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack"), []);
        assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack", TRICKY, null, 1.5, -0.25, true),
                         [TRICKY, null, 1.5, -0.25, true]);
        // emitWithAck (the promise form) resolves with the first argument.
        assert.deepEqual(await socket.timeout(TIMEOUT).emitWithAck("message-with-ack", { ok: true }),
                         { ok: true });
        // Several acks in flight at once, each answered once with its own arguments.
        const replies = await Promise.all(
          Array.from({ length: 50 }, (_, i) => emitWithAckArgs(socket, "message-with-ack", i, `n${i}`)));
        replies.forEach((reply, i) => assert.deepEqual(reply, [i, `n${i}`]));
      });
    });

    it("server → client emit with ack: the client's ack arguments reach the server", async () => {
      await withServer(COMPLIANCE, async (server) => {
        const socket = server.socket("/", mode.options);
        await connected(socket);
        let questions = 0;
        socket.on("question", (...args) => {
          questions += 1;
          const ack = args.pop();
          assert.equal(typeof ack, "function", "the server's event must carry an ack id");
          ack("reply to", ...args);
        });
        for (const args of [[1, "two", { three: [3] }], [], [TRICKY]]) {
          const answer = once(socket, "answer", { failOn: ["disconnect"] });
          socket.emit("ask", ...args);
          assert.deepEqual(await answer, ["reply to", ...args]);
        }
        assert.equal(questions, 3);

        // Binary in the question and in the answer.
        socket.off("question");
        socket.on("question", (blob, ack) => ack({ got: blob, extra: Buffer.from([0xff, 0x00]) }));
        const answer = once(socket, "answer", { failOn: ["disconnect"] });
        socket.emit("ask", Buffer.from([1, 2, 3]));
        assertSameData(await answer, [{ got: Buffer.from([1, 2, 3]), extra: Buffer.from([0xff, 0x00]) }]);
      });
    });

    it("binary round trip: buffers, nested, several attachments, in events and acks", async () => {
      await withServer(COMPLIANCE, async (server) => {
        const socket = server.socket("/", mode.options);
        await connected(socket);
        const large = Buffer.alloc(100_000);
        for (let i = 0; i < large.length; i += 1) large[i] = (i * 7919) % 256;
        const cases = [
          [Buffer.from([1, 2, 3, 4])],
          [Buffer.alloc(0)],
          [Buffer.from([0x1e, 0x00, 0xff, 0x62, 0x34])], // bytes that look like framing
          ["text first", Buffer.from("abc"), 42, { nested: { deep: [Buffer.from([9]), "x", Buffer.from([8, 7])] } }],
          [{ a: Buffer.from([1]), b: [Buffer.from([2]), { c: Buffer.from([3]) }] }, Buffer.from([4])],
          [new Uint8Array([5, 6, 7])],
          [large],
        ];
        for (const args of cases) {
          const back = once(socket, "message-back", { failOn: ["disconnect"] });
          socket.emit("message", ...args);
          assertSameData(await back, args, "message-back");
          assertSameData(await emitWithAckArgs(socket, "message-with-ack", ...args), args, "ack");
        }
        // Received binary is a Buffer in Node (both transports).
        const back = once(socket, "message-back", { failOn: ["disconnect"] });
        socket.emit("message", Buffer.from([1]));
        assert.ok(Buffer.isBuffer((await back)[0]));
      });
    });

    it(`a burst of ${BURST} events arrives complete and in order`, async () => {
      // With the suite's 300 ms / 200 ms heartbeat: the pongs are behind the burst, and the
      // server must not take a client busy with it (or its own backlog) for a dead one.
      await withServer(COMPLIANCE, async (server) => {
        const socket = server.socket("/", mode.options);
        await connected(socket);
        const received = [];
        socket.on("message-back", (index, text) => received.push([index, text]));
        const all = until(socket, "message-back", () => received.length >= BURST,
                          { what: `${BURST} message-back events`, failOn: ["disconnect"] });
        for (let i = 0; i < BURST; i += 1) socket.emit("message", i, `${TRICKY} #${i}`);
        await all;
        assert.equal(received.length, BURST);
        received.forEach(([index, text], i) => {
          assert.equal(index, i, "in order");
          assert.equal(text, `${TRICKY} #${i}`);
        });
        // And as many acks, each resolved with its own arguments.
        const acks = await Promise.all(
          Array.from({ length: BURST }, (_, i) => emitWithAckArgs(socket, "message-with-ack", i)));
        acks.forEach((reply, i) => assert.deepEqual(reply, [i]));
      });
    });

    it("a client that stops answering pings is dropped by the server", async () => {
      await withServer(SHORT_HEARTBEAT, async (server) => {
        const socket = server.socket("/", mode.options);
        await connected(socket);
        await settled(socket, mode.transport);
        const engine = socket.io.engine;
        // Stop answering pings, and switch off the client's own heartbeat watchdog, so that
        // the only way this connection can end is the server closing it.
        const sendPacket = engine._sendPacket;
        assert.equal(typeof sendPacket, "function");
        engine._sendPacket = function (type, ...rest) {
          if (type === "pong") return undefined;
          return sendPacket.call(this, type, ...rest);
        };
        engine._resetPingTimeout = () => {};
        engine.clearTimeoutFn(engine._pingTimeoutTimer);
        engine._hasPingExpired = () => false;

        const [reason] = await once(socket, "disconnect");
        assert.ok(["transport close", "transport error"].includes(reason),
                  `the server ends the transport (reason: ${reason})`);
        // The server is fine, and its other clients too.
        const other = server.socket("/", mode.options);
        await connected(other);
        assert.deepEqual(await emitWithAckArgs(other, "message-with-ack", "ok"), ["ok"]);
      });
    });

    it("reconnects (new socket id) after the server goes away and comes back on the same port", async () => {
      const first = await Parley.start(COMPLIANCE);
      let second;
      try {
        const socket = first.socket("/", {
          ...mode.options,
          auth: { token: "again" },
          reconnection: true,
          reconnectionDelay: 50,
          reconnectionDelayMax: 100,
          randomizationFactor: 0,
        });
        const firstAuth = once(socket, "auth");
        const firstId = await connected(socket);
        assert.deepEqual((await firstAuth)[0], { token: "again" });
        await settled(socket, mode.transport);
        const events = [];
        socket.on("disconnect", (reason) => events.push(`disconnect:${reason}`));
        socket.io.on("reconnect", () => events.push("reconnect"));
        const disconnected = once(socket, "disconnect");

        const exit = await first.terminate(); // SIGTERM: the server closes every connection
        assert.equal(exit.code, 0, `exit status after SIGTERM: ${JSON.stringify(exit)}`);
        const [reason] = await disconnected;
        assert.ok(["transport close", "transport error"].includes(reason),
                  `a shutdown is not a Socket.IO DISCONNECT, the client must retry (reason: ${reason})`);
        assert.equal(socket.active, true, "the client is trying to reconnect");

        const secondAuth = once(socket, "auth");
        const reconnected = once(socket, "connect");
        second = await Parley.start(COMPLIANCE, { listen: `127.0.0.1:${first.port}` });
        await reconnected;
        assert.deepEqual((await secondAuth)[0], { token: "again" }, "auth is sent again on reconnection");
        assert.equal(typeof socket.id, "string");
        assert.notEqual(socket.id, firstId, "a new socket id");
        assert.deepEqual(events.slice(-1), ["reconnect"]);
        assert.deepEqual(await emitWithAckArgs(socket, "message-with-ack", "after"), ["after"]);
        await settled(socket, mode.transport);
        socket.disconnect();
      } catch (error) {
        error.message += `\n--- first server ---\n${first.log()}\n--- second server ---\n${second?.log() ?? "(not started)"}`;
        throw error;
      } finally {
        await first.stop();
        if (second) await second.stop();
      }
    });
  });
}

describe("socket.io-client, compliance server, events emitted while the upgrade is under way", { timeout: 2 * TIMEOUT }, () => {
  it("are neither lost nor reordered", async () => {
    await withServer(COMPLIANCE, async (server) => {
      const socket = server.socket("/", {});
      const received = [];
      socket.on("message-back", (index) => received.push(index));
      await connected(socket);
      // Emit from the moment the session exists, through the probe, until well after the
      // upgrade: every event must come back once, in order.
      let sent = 0;
      const engine = socket.io.engine;
      const upgraded = engine.transport.name === "websocket"
        ? Promise.resolve()
        : once(engine, "upgrade", { failOn: ["upgradeError"] });
      while (engine.transport.name === "polling" && sent < 20_000) {
        socket.emit("message", sent);
        sent += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await deadline(upgraded, "the upgrade");
      assert.equal(engine.transport.name, "websocket");
      for (let i = 0; i < 100; i += 1) {
        socket.emit("message", sent);
        sent += 1;
      }
      await until(socket, "message-back", () => received.length >= sent,
                  { what: `${sent} events back`, failOn: ["disconnect"] });
      assert.deepEqual(received, Array.from({ length: sent }, (_, i) => i));
    });
  });
});

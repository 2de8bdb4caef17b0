// Socket.IO authentication in normal mode (`parley serve`) with the official socket.io-client,
// in its three transport modes: a token in the CONNECT auth object or the parley_session
// cookie; anything else is refused with connect_error "unauthorized"; logging out sends a
// Socket.IO DISCONNECT to that session's sockets ("io server disconnect", no reconnection).

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MODES, PHONE, TIMEOUT, connected, once, rejected, settled, until, withServer,
} from "./harness.mjs";

const OTHER_PHONE = "+14155550199";
// Short pings so that "another socket is still connected" can be observed on a heartbeat.
const FLAGS = ["--ping-interval", "200", "--ping-timeout", "10000"];

for (const mode of MODES) {
  describe(`socket.io-client, ${mode.name}`, { timeout: 4 * TIMEOUT }, () => {
    it("connects with the token from sign-in, with a socket id of its own", async () => {
      await withServer(FLAGS, async (server) => {
        const { token } = await server.signIn(PHONE, "Alice");
        const socket = server.socket("/", { ...mode.options, auth: { token } });
        const id = await connected(socket);
        assert.equal(typeof id, "string");
        assert.ok(id.length > 0);
        assert.notEqual(id, socket.io.engine.id, "the socket id must not be the Engine.IO sid");
        await settled(socket, mode.transport);
        assert.ok(socket.connected);
      });
    });

    it("refuses a connection without a token, with a bad token or a token of the wrong type", async () => {
      await withServer(FLAGS, async (server) => {
        const { token } = await server.signIn(PHONE, "Alice");
        const attempts = [
          ["no auth", {}],
          ["an empty auth object", { auth: {} }],
          ["an unknown token", { auth: { token: "not-a-token" } }],
          ["an altered token", { auth: { token: `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}` } }],
          ["a number", { auth: { token: 12345 } }],
          ["the token under another key", { auth: { session: token } }],
          ["an unknown cookie", { extraHeaders: { Cookie: "parley_session=not-a-token" } }],
        ];
        for (const [what, options] of attempts) {
          const socket = server.socket("/", { ...mode.options, ...options });
          const error = await rejected(socket);
          assert.equal(error.message, "unauthorized", what);
          assert.equal(socket.connected, false, what);
          assert.equal(socket.active, false, `${what}: the client must not retry`);
          socket.disconnect();
        }
        // The server is still serving the others.
        const socket = server.socket("/", { ...mode.options, auth: { token } });
        await connected(socket);
      });
    });

    it("connects with the parley_session cookie", async () => {
      await withServer(FLAGS, async (server) => {
        const { cookie } = await server.signIn(PHONE, "Alice");
        const socket = server.socket("/", {
          ...mode.options,
          extraHeaders: { Cookie: `parley_session=${cookie}` },
        });
        const id = await connected(socket);
        assert.equal(typeof id, "string");
        await settled(socket, mode.transport);
      });
    });

    it("refuses a namespace other than /", async () => {
      await withServer(FLAGS, async (server) => {
        const { token } = await server.signIn(PHONE, "Alice");
        const socket = server.socket("/admin", { ...mode.options, auth: { token } });
        const error = await rejected(socket);
        assert.equal(error.message, "Invalid namespace");
      });
    });

    it("logout disconnects that session's sockets (io server disconnect, no reconnection) and no other", async () => {
      await withServer(FLAGS, async (server) => {
        const alice = await server.signIn(PHONE, "Alice");
        const bob = await server.signIn(OTHER_PHONE, "Bob");
        const reconnecting = { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 };
        const byToken = server.socket("/", { ...mode.options, ...reconnecting, auth: { token: alice.token } });
        const byCookie = server.socket("/", {
          ...mode.options, ...reconnecting, extraHeaders: { Cookie: `parley_session=${alice.cookie}` },
        });
        const other = server.socket("/", { ...mode.options, ...reconnecting, auth: { token: bob.token } });
        await Promise.all([connected(byToken), connected(byCookie), connected(other)]);

        const attempts = [];
        for (const socket of [byToken, byCookie, other]) {
          socket.io.on("reconnect_attempt", () => attempts.push(socket));
        }
        const disconnects = [byToken, byCookie].map((socket) => once(socket, "disconnect"));
        const otherDisconnects = [];
        other.on("disconnect", (reason) => otherDisconnects.push(reason));

        const response = await server.request("POST", "/api/v1/auth/logout", { token: alice.token });
        assert.equal(response.status, 204, response.body);

        for (const [reason] of await Promise.all(disconnects)) {
          assert.equal(reason, "io server disconnect");
        }
        for (const socket of [byToken, byCookie]) {
          assert.equal(socket.connected, false);
          assert.equal(socket.active, false, "no reconnection after a server DISCONNECT");
        }

        // Bob's socket stays: two heartbeats later (each a round trip) it is still connected.
        let pings = 0;
        const counted = () => { pings += 1; };
        other.io.on("ping", counted);
        await until(other.io, "ping", () => pings >= 2, { what: "two pings on the other socket" });
        other.io.off("ping", counted);
        assert.deepEqual(otherDisconnects, []);
        assert.ok(other.connected);
        assert.deepEqual(attempts, [], "nobody tried to reconnect");

        // The revoked token no longer connects.
        const again = server.socket("/", { ...mode.options, auth: { token: alice.token } });
        assert.equal((await rejected(again)).message, "unauthorized");
      });
    });
  });
}

// Protocol-level checks with a raw `ws` WebSocket (and plain HTTP for polling): the open
// packet, CONNECT / CONNECT_ERROR frames, heartbeat drop, and malformed input closing only
// the connection that sent it.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { PHONE, TIMEOUT, withServer } from "./harness.mjs";

const MAX_PAYLOAD = 10_000;
const NORMAL = ["--ping-interval", "2000", "--ping-timeout", "1000", "--max-payload", String(MAX_PAYLOAD)];
const HANDSHAKE_KEYS = ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"];
const URL_SAFE = /^[A-Za-z0-9_-]+$/;

/** Opens a WebSocket-only Engine.IO session on `path`; returns its frames and open packet. */
async function openWebSocket(server, path = "/socket.io/") {
  const frames = server.websocket(`${path}?EIO=4&transport=websocket`);
  await frames.opened;
  const first = await frames.text("the open packet");
  assert.match(first, /^0\{/, `the first frame is the open packet: ${first}`);
  return { frames, handshake: JSON.parse(first.slice(1)) };
}

function assertHandshake(handshake, { upgrades, pingInterval, pingTimeout, maxPayload }) {
  assert.deepEqual(Object.keys(handshake).sort(), HANDSHAKE_KEYS, JSON.stringify(handshake));
  assert.equal(typeof handshake.sid, "string");
  assert.match(handshake.sid, URL_SAFE, "the sid is URL-safe");
  assert.ok(handshake.sid.length >= 16, `a sid long enough to be unguessable: ${handshake.sid}`);
  assert.deepEqual(handshake.upgrades, upgrades);
  assert.equal(handshake.pingInterval, pingInterval);
  assert.equal(handshake.pingTimeout, pingTimeout);
  assert.equal(handshake.maxPayload, maxPayload);
}

/** The open packets of a compliance-mode server on both paths and over polling: its heartbeat. */
async function assertCompliantOpenPackets(server, pingInterval, pingTimeout) {
  for (const path of ["/engine.io/", "/socket.io/"]) {
    const { handshake } = await openWebSocket(server, path);
    assertHandshake(handshake, { upgrades: [], pingInterval, pingTimeout, maxPayload: 1_000_000 });
  }
  const response = await server.request("GET", "/socket.io/?EIO=4&transport=polling");
  assert.equal(response.status, 200, response.body);
  assertHandshake(JSON.parse(response.body.slice(1)),
                  { upgrades: ["websocket"], pingInterval, pingTimeout, maxPayload: 1_000_000 });
}

/** Socket.IO CONNECT to "/" with a token on a raw session; returns the socket id. */
async function join(frames, token) {
  frames.send(`40${JSON.stringify({ token })}`);
  const reply = await frames.text("the CONNECT reply");
  assert.match(reply, /^40\{/, `CONNECT accepted: ${reply}`);
  const body = JSON.parse(reply.slice(2));
  assert.deepEqual(Object.keys(body), ["sid"], reply);
  return body.sid;
}

/** A round trip on a healthy raw session: CONNECT to an unknown namespace is refused. */
async function roundTrip(frames, label) {
  frames.send(`40/nope-${label},`);
  const reply = await frames.text(`the refusal of /nope-${label}`);
  assert.equal(reply.slice(0, `44/nope-${label},`.length), `44/nope-${label},`, reply);
  assert.deepEqual(JSON.parse(reply.slice(`44/nope-${label},`.length)), { message: "Invalid namespace" });
}

describe("raw protocol, normal mode", { timeout: 6 * TIMEOUT }, () => {
  it("WebSocket handshake: exactly sid/upgrades/pingInterval/pingTimeout/maxPayload, upgrades []", async () => {
    await withServer(NORMAL, async (server) => {
      const { handshake } = await openWebSocket(server);
      assertHandshake(handshake, { upgrades: [], pingInterval: 2000, pingTimeout: 1000, maxPayload: MAX_PAYLOAD });
      const other = await openWebSocket(server);
      assert.notEqual(other.handshake.sid, handshake.sid);
    });
  });

  it("polling handshake: the same keys, upgrades [\"websocket\"]", async () => {
    await withServer(NORMAL, async (server) => {
      const response = await server.request("GET", "/socket.io/?EIO=4&transport=polling&t=Nabc123");
      assert.equal(response.status, 200, response.body);
      assert.match(response.body, /^0\{/);
      assertHandshake(JSON.parse(response.body.slice(1)),
                      { upgrades: ["websocket"], pingInterval: 2000, pingTimeout: 1000, maxPayload: MAX_PAYLOAD });
    });
  });

  it("CONNECT: a token gets {sid} only; no token or a bad one gets {message: unauthorized}", async () => {
    await withServer(NORMAL, async (server) => {
      const { token } = await server.signIn(PHONE, "Alice");
      const { frames } = await openWebSocket(server);
      const sid = await join(frames, token);
      assert.match(sid, URL_SAFE);

      for (const connect of ["40", "40{}", '40{"token":"nope"}', '40{"token":7}']) {
        const refused = await openWebSocket(server);
        refused.frames.send(connect);
        const reply = await refused.frames.text("the CONNECT_ERROR");
        assert.match(reply, /^44\{/, `${connect} → ${reply}`);
        assert.equal(JSON.parse(reply.slice(2)).message, "unauthorized", `${connect} → ${reply}`);
      }
      await roundTrip(frames, "after");
    });
  });

  it("a client that never answers pings is dropped (WebSocket)", async () => {
    await withServer(["--ping-interval", "100", "--ping-timeout", "100"], async (server) => {
      const { token } = await server.signIn(PHONE, "Alice");
      const { frames } = await openWebSocket(server);
      await join(frames, token);
      const ping = await frames.next({ pings: true, what: "a ping" });
      assert.deepEqual(ping, { text: "2" });
      // No pong: the server must close the connection.
      await frames.closedByServer("the server to drop a client that does not answer pings");
      assert.deepEqual(frames.frames, [], "nothing after the ping");
    });
  });

  it("a client that never answers pings is dropped (polling): its sid becomes unknown", async () => {
    await withServer(["--ping-interval", "100", "--ping-timeout", "100"], async (server) => {
      const opened = await server.request("GET", "/socket.io/?EIO=4&transport=polling");
      const { sid } = JSON.parse(opened.body.slice(1));
      const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      const first = await server.request("GET", path);
      assert.equal(first.status, 200);
      assert.equal(first.body, "2", "a ping");
      // No pong. The next GET is answered with a close packet (or already refused) ...
      const second = await server.request("GET", path);
      assert.ok((second.status === 200 && second.body === "1") || second.status === 400,
                `close packet or 400, got ${second.status} ${second.body}`);
      // ... and then the sid is unknown.
      const third = await server.request("GET", path);
      assert.equal(third.status, 400);
      assert.deepEqual(third.json(), { code: 1, message: "Session ID unknown" });
    });
  });

  // Each is sent on a fresh WebSocket session that has joined "/" (unless `before` says it
  // is sent before CONNECT); the server must close that connection and only that one.
  const MALFORMED = [
    ["Socket.IO type that is not a digit (4abc)", ["4abc"]],
    ["4abc before CONNECT", ["4abc"], { before: true }],
    ["unknown Socket.IO type (47)", ["47"]],
    ["EVENT whose payload is an object (42{})", ["42{}"]],
    ["EVENT with letters where the ack id goes (42abc[…])", ['42abc["x"]']],
    ["EVENT with broken JSON", ['42["x",']],
    ["EVENT with an empty array", ["42[]"]],
    ["EVENT named with a reserved name (connect)", ['42["connect"]']],
    ["unknown Engine.IO type (abc)", ["abc"]],
    ["Engine.IO type 9", ["9"]],
    ["a client ping (2)", ["2"]],
    ["a text packet where a binary attachment is due", ['451-["x",{"_placeholder":true,"num":0}]', '42["y"]']],
    ["a binary frame that no header announced", [Buffer.from([1, 2, 3])]],
    ["a negative attachment count", ['45-1-["x"]']],
    ["a second CONNECT to /", ["40"]],
    ["a text frame that is not UTF-8", [{ invalidUtf8: true }]],
    ["a message over maxPayload", [`42["big","${"x".repeat(MAX_PAYLOAD + 100)}"]`]],
  ];

  it("a malformed packet closes only the connection that sent it", async () => {
    await withServer(NORMAL, async (server) => {
      const { token } = await server.signIn(PHONE, "Alice");
      const bystander = await openWebSocket(server);
      await join(bystander.frames, token);
      for (const [what, packets, { before = false } = {}] of MALFORMED) {
        const culprit = await openWebSocket(server);
        if (!before) await join(culprit.frames, token);
        for (const packet of packets) {
          if (packet.invalidUtf8) culprit.frames.ws.send(Buffer.from([0x34, 0x32, 0xff, 0xfe]), { binary: false });
          else culprit.frames.send(packet);
        }
        try {
          await culprit.frames.closedByServer(`the server to close the connection after ${what}`);
        } catch (error) {
          error.message += `\nframes received: ${JSON.stringify(culprit.frames.frames)}`;
          throw error;
        }
        await roundTrip(bystander.frames, what.replace(/[^a-z0-9]+/gi, "-"));
      }
      assert.ok(await server.healthy());
    });
  });

  it("an upgrade probe that goes silent is closed (upgrade timeout); the polling session stays", async () => {
    // A heartbeat longer than the upgrade timeout (10 s), so that the polling session (which
    // does not poll here) outlives its probes. Both cases run at once.
    await withServer(["--ping-interval", "60000", "--ping-timeout", "60000"], async (server) => {
      await Promise.all([[], ["2probe"]].map(async (before) => {
        const opened = await server.request("GET", "/socket.io/?EIO=4&transport=polling");
        const { sid } = JSON.parse(opened.body.slice(1));
        const probe = server.websocket(`/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
        await probe.opened;
        for (const packet of before) probe.send(packet);
        if (before.length > 0) assert.equal(await probe.text("the probe's answer"), "3probe");
        // Neither "2probe" nor "5" (or no "5" after the probe): the server gives up on it.
        await probe.closedByServer("the server to close a silent upgrade probe");
        const posted = await server.request("POST", `/socket.io/?EIO=4&transport=polling&sid=${sid}`,
                                            { body: "41" });
        assert.equal(posted.status, 200, `the polling session is still open: ${posted.body}`);
      }));
    });
  });

  it("polling: a malformed POST ends that session only; an oversize POST gets 413", async () => {
    await withServer(NORMAL, async (server) => {
      const { token } = await server.signIn(PHONE, "Alice");
      const bystander = await openWebSocket(server);
      await join(bystander.frames, token);

      const handshake = async () => {
        const response = await server.request("GET", "/socket.io/?EIO=4&transport=polling");
        assert.equal(response.status, 200, response.body);
        const { sid } = JSON.parse(response.body.slice(1));
        return `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      };
      const post = (path, body) =>
        server.request("POST", path, { body, headers: { "Content-Type": "text/plain;charset=UTF-8" } })
          .catch((error) => ({ status: "aborted", body: String(error) }));

      for (const body of ["4abc", "42{}", "abc", `40${JSON.stringify({ token })}\u001e42abc[1]`]) {
        const path = await handshake();
        const posted = await post(path, body);
        assert.ok([200, 400, "aborted"].includes(posted.status), `${body}: ${posted.status} ${posted.body}`);
        // The session is over: a close packet (possibly after what was queued) or a 400 — never
        // a held GET that ends with a ping 2 s later.
        const next = await server.request("GET", path);
        if (next.status === 200) {
          const packets = next.body.split("\u001e");
          assert.equal(packets[packets.length - 1], "1", `${body}: the session must close, got ${next.body}`);
          const after = await server.request("GET", path);
          assert.equal(after.status, 400, `${body}: ${after.body}`);
        } else {
          assert.equal(next.status, 400, `${body}: ${next.body}`);
        }
        await roundTrip(bystander.frames, "polling");
      }

      const path = await handshake();
      const oversize = await post(path, `42["big","${"x".repeat(MAX_PAYLOAD + 100)}"]`);
      assert.equal(oversize.status, 413, oversize.body);
      await roundTrip(bystander.frames, "oversize");
      assert.ok(await server.healthy());
    });
  });
});

describe("raw protocol, compliance mode", { timeout: 4 * TIMEOUT }, () => {
  // The suites' own heartbeat (300/200 ms) is asserted on the open packets alone, which come
  // before any ping; the echo checks run on a heartbeat that cannot fire during them, so that
  // a late pong from a loaded machine cannot end a test that is not about the heartbeat.
  const NO_PINGS = ["--compliance", "--ping-interval", "60000", "--ping-timeout", "60000"];

  it("compliance mode answers with the suites' heartbeat, 300/200 ms, on both paths", async () => {
    await withServer(["--compliance"], (server) => assertCompliantOpenPackets(server, 300, 200));
  });

  it("/engine.io/ echoes text as text and binary as binary", async () => {
    await withServer(NO_PINGS, async (server) => {
      const { frames, handshake } = await openWebSocket(server, "/engine.io/");
      assertHandshake(handshake, { upgrades: [], pingInterval: 60000, pingTimeout: 60000, maxPayload: 1_000_000 });
      frames.send("4hello ✓");
      assert.deepEqual(await frames.next(), { text: "4hello ✓" });
      frames.send(Buffer.from([1, 2, 3, 4]));
      assert.deepEqual(await frames.next(), { binary: Buffer.from([1, 2, 3, 4]) });
    });
  });

  it("/socket.io/: CONNECT reply then auth; binary echo as 452- with two attachments", async () => {
    await withServer(NO_PINGS, async (server) => {
      const { frames, handshake } = await openWebSocket(server);
      assertHandshake(handshake, { upgrades: [], pingInterval: 60000, pingTimeout: 60000, maxPayload: 1_000_000 });
      frames.send('40{"token":"123"}');
      assert.match(await frames.text(), /^40\{"sid":"[A-Za-z0-9_-]+"\}$/);
      assert.equal(await frames.text(), '42["auth",{"token":"123"}]');
      frames.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      frames.send(Buffer.from([1, 2, 3]));
      frames.send(Buffer.from([4, 5, 6]));
      assert.equal(await frames.text(),
                   '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      assert.deepEqual(await frames.next(), { binary: Buffer.from([1, 2, 3]) });
      assert.deepEqual(await frames.next(), { binary: Buffer.from([4, 5, 6]) });
      frames.send('42456["message-with-ack",1,"2",{"3":[false]}]');
      assert.equal(await frames.text(), '43456[1,"2",{"3":[false]}]');
    });
  });

  it("/socket.io/: server → client ack (ask, question with an ack id, answer)", async () => {
    // Not a heartbeat test: a long one, so that a loaded machine's late pong cannot end it.
    await withServer(["--compliance", "--ping-interval", "5000", "--ping-timeout", "5000"], async (server) => {
      const { frames } = await openWebSocket(server);
      frames.send("40");
      assert.match(await frames.text(), /^40\{"sid":/);
      assert.equal(await frames.text(), '42["auth",{}]');
      frames.send('42["ask",1,{"a":"b"}]');
      const question = await frames.text();
      const match = /^42(\d+)\["question",1,\{"a":"b"\}\]$/.exec(question);
      assert.ok(match, `question with an ack id: ${question}`);
      frames.send(`43${match[1]}["yes",2]`);
      assert.equal(await frames.text(), '42["answer","yes",2]');
      // An ack for an id the server never used is ignored, and the session goes on.
      frames.send("4399999[1]");
      frames.send('42["message","x"]');
      assert.equal(await frames.text(), '42["message-back","x"]');
    });
  });

  it("explicit --ping-interval / --ping-timeout win over the suite's heartbeat", async () => {
    await withServer(["--compliance", "--ping-interval", "5000", "--ping-timeout", "4000"],
                     (server) => assertCompliantOpenPackets(server, 5000, 4000));
    // Only one of the two given: the other keeps the suite's value.
    await withServer(["--compliance", "--ping-interval", "6000"], async (server) => {
      const { handshake } = await openWebSocket(server, "/engine.io/");
      assertHandshake(handshake, { upgrades: [], pingInterval: 6000, pingTimeout: 200, maxPayload: 1_000_000 });
    });
  });

  it("a client that never answers pings is dropped after pingInterval + pingTimeout", async () => {
    await withServer(["--compliance"], async (server) => {
      const { frames } = await openWebSocket(server);
      frames.send("40");
      assert.match(await frames.text(), /^40\{/);
      assert.equal(await frames.text(), '42["auth",{}]');
      assert.deepEqual(await frames.next({ pings: true }), { text: "2" });
      await frames.closedByServer();
    });
  });
});

// The upstream suites' races, each run many times: two connections of one client whose
// requests this server may read in either order. The answers must be the reference server's
// in every order (a heartbeat long enough not to interleave a ping).
describe("raw protocol, requests of one session on two connections", { timeout: 6 * TIMEOUT }, () => {
  const QUIET = ["--compliance", "--ping-interval", "60000", "--ping-timeout", "60000"];
  const ROUNDS = 50;

  async function pollingSession(server) {
    const opened = await server.request("GET", "/engine.io/?EIO=4&transport=polling");
    assert.equal(opened.status, 200, opened.body);
    const { sid } = JSON.parse(opened.body.slice(1));
    return { sid, path: `/engine.io/?EIO=4&transport=polling&sid=${sid}` };
  }

  async function probe(server, sid) {
    const socket = server.websocket(`/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
    await socket.opened;
    return socket;
  }

  /** After "2probe" and "5" on the probe `socket`: it was answered, and now echoes. */
  async function assertUpgraded(socket, round) {
    socket.send("4hello");
    assert.equal(await socket.text(), "3probe", `round ${round}`);
    assert.equal(await socket.text(), "4hello", `round ${round}`);
    socket.terminate();
  }

  it("a GET sent after \"5\" finds the session upgraded (400); the WebSocket carries on", async () => {
    await withServer(QUIET, async (server) => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const { sid, path } = await pollingSession(server);
        const socket = await probe(server, sid);
        socket.send("2probe");
        socket.send("5");
        const answer = await server.request("GET", path);
        assert.equal(answer.status, 400, `round ${round}: ${answer.status} ${answer.body}`);
        await assertUpgraded(socket, round);
      }
    });
  });

  it("a GET sent after \"3probe\" (no \"5\" yet) gets a noop at once", async () => {
    await withServer(QUIET, async (server) => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const { sid, path } = await pollingSession(server);
        const socket = await probe(server, sid);
        socket.send("2probe");
        assert.equal(await socket.text(), "3probe");
        const answer = await server.request("GET", path);
        assert.equal(answer.status, 200, `round ${round}: ${answer.body}`);
        assert.equal(answer.body, "6", `round ${round}`);
        socket.send("5");
        socket.send("4hello");
        assert.equal(await socket.text(), "4hello");
        socket.terminate();
      }
    });
  });

  it("a second WebSocket with the same sid, during the probe or after it, is closed", async () => {
    await withServer(QUIET, async (server) => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const { sid } = await pollingSession(server);
        const socket = await probe(server, sid);
        socket.send("2probe");
        socket.send("5");
        const second = server.websocket(`/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
        await second.closedByServer(`round ${round}: the second WebSocket to be closed`);
        await assertUpgraded(socket, round);
      }
    });
  });

  it("a GET and a POST of \"1\" sent at once: the GET gets a noop, the next GET 400", async () => {
    await withServer(QUIET, async (server) => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const { path } = await pollingSession(server);
        const [poll, posted] = await Promise.all([
          server.request("GET", path),
          server.request("POST", path, { body: "1", headers: { "Content-Type": "text/plain;charset=UTF-8" } }),
        ]);
        assert.equal(posted.status, 200, `round ${round}: ${posted.body}`);
        assert.equal(poll.status, 200, `round ${round}: ${poll.body}`);
        assert.equal(poll.body, "6", `round ${round}`);
        const after = await server.request("GET", path);
        assert.equal(after.status, 400, `round ${round}: ${after.body}`);
        assert.deepEqual(after.json(), { code: 1, message: "Session ID unknown" });
      }
    });
  });
});

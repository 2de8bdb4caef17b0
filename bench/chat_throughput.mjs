// Messages per second end to end: P sender/receiver pairs, each sender keeping W messages in
// flight (`message:send` with ack), each receiver acknowledging every `message` (which marks
// it delivered). A message counts once its sender has the ack (it is on disk: the server
// runs with its normal durability, WAL + synchronous=FULL) and its receiver has it.
//
//   node bench/chat_throughput.mjs [--pairs 50] [--messages 200] [--window 10]
//                                  [--transport websocket|polling] [--binary build/parley]
//
// It starts its own server (a fresh database in a temporary directory) with the message rate
// limit off, and prints one JSON line with the figures. Uses the test tools' npm packages:
// run `make test` (or scripts/install-node-deps.sh) once first.

import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

const { values: options } = parseArgs({
  options: {
    pairs: { type: "string", default: "50" },
    messages: { type: "string", default: "200" },
    window: { type: "string", default: "10" },
    transport: { type: "string", default: "websocket" },
    binary: { type: "string" },
  },
});
if (options.binary) process.env.PARLEY_BINARY = options.binary;
const { Parley, io } = await import("../tests/e2e/node/harness.mjs");

const pairs = Number(options.pairs);
const perSender = Number(options.messages);
const window = Number(options.window);
const total = pairs * perSender;

const server = await Parley.start([
  "--message-rate", "0",
  "--codes-per-address-per-hour", "1000000",
  "--max-connections-per-address", "100000",
]);

function percentile(sorted, p) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

try {
  const users = [];
  for (let index = 0; index < pairs * 2; index += 1) {
    const phone = `+1415${String(2000000 + index).padStart(7, "0")}`;
    users.push(await server.signIn(phone, `User ${index}`));
  }
  const connect = (user) => new Promise((resolve, reject) => {
    const socket = io(server.url, { auth: { token: user.token }, transports: [options.transport],
                                    reconnection: false, forceNew: true });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
  const sockets = await Promise.all(users.map(connect));

  const sentAt = new Map(); // client_id -> performance.now() at send
  const ackLatency = [];
  const deliveryLatency = [];
  let delivered = 0;
  let acked = 0;
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const check = () => { if (delivered === total && acked === total) finish(); };

  for (let pair = 0; pair < pairs; pair += 1) {
    sockets[pair * 2 + 1].on("message", (message, ack) => {
      const started = sentAt.get(message.client_id);
      if (started !== undefined) deliveryLatency.push(performance.now() - started);
      delivered += 1;
      if (typeof ack === "function") ack();
      check();
    });
  }

  const metricsBefore = (await server.request("GET", "/metrics")).body;
  const start = performance.now();
  await Promise.all(Array.from({ length: pairs }, async (_, pair) => {
    const socket = sockets[pair * 2];
    const to = users[pair * 2 + 1].user.id;
    let next = 0;
    const lane = async () => {
      while (next < perSender) {
        const clientId = `p${pair}-${next}`;
        next += 1;
        const started = performance.now();
        sentAt.set(clientId, started);
        const answer = await socket.emitWithAck("message:send", { to, body: `message ${clientId}`, client_id: clientId });
        if (!answer.ok) throw new Error(`send failed: ${JSON.stringify(answer)}`);
        ackLatency.push(performance.now() - started);
        acked += 1;
        check();
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  }));
  await finished;
  const elapsed = (performance.now() - start) / 1000;
  const metricsAfter = (await server.request("GET", "/metrics")).body;
  const counter = (text, name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  const jobs = counter(metricsAfter, "parley_store_write_jobs_total") - counter(metricsBefore, "parley_store_write_jobs_total");
  const batches = counter(metricsAfter, "parley_store_write_batches_total") - counter(metricsBefore, "parley_store_write_batches_total");
  ackLatency.sort((a, b) => a - b);
  deliveryLatency.sort((a, b) => a - b);
  console.log(JSON.stringify({
    pairs, messages_per_sender: perSender, window, transport: options.transport,
    messages: total, seconds: Number(elapsed.toFixed(3)),
    messages_per_second: Math.round(total / elapsed),
    ack_ms: { p50: percentile(ackLatency, 0.5)?.toFixed(2), p99: percentile(ackLatency, 0.99)?.toFixed(2) },
    delivery_ms: { p50: percentile(deliveryLatency, 0.5)?.toFixed(2), p99: percentile(deliveryLatency, 0.99)?.toFixed(2) },
    store_jobs: jobs, store_commits: batches, jobs_per_commit: Number((jobs / batches).toFixed(1)),
  }));
  for (const socket of sockets) socket.close();
} finally {
  await server.stop();
}

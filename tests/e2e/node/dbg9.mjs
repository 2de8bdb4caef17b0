import { Parley, connected, emitWithAckArgs, until } from "./harness.mjs";
const server = await Parley.start(["--compliance", "--log-level", "debug"]);
const s = server.socket("/", { transports: ["websocket"] });
await connected(s);
s.on("disconnect", (r) => console.log("disconnect", r, Date.now()));
s.io.on("ping", () => console.log("ping", Date.now()));
const received = [];
s.on("message-back", (i) => received.push(i));
const t0 = Date.now();
for (let i = 0; i < 1000; i += 1) s.emit("message", i, "héllo ✓ 😀 \u001e sep \u0000 nul \n\t \"quoted\" \\ back #" + i);
await until(s, "message-back", () => received.length >= 1000);
console.log("burst back", Date.now() - t0);
try {
  const acks = await Promise.all(Array.from({ length: 1000 }, (_, i) => emitWithAckArgs(s, "message-with-ack", i)));
  console.log("acks", acks.length, Date.now() - t0);
} catch (e) { console.log("ERR", e.message.split("\n")[0]); }
console.log(server.log().split("\n").filter(l => !l.includes("http.request")).slice(6).join("\n"));
await server.stop();

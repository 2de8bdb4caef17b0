import { Parley, connected, emitWithAckArgs } from "./harness.mjs";
const server = await Parley.start(["--compliance", "--log-level", "debug"]);
const s = server.socket("/", { transports: ["websocket"] });
await connected(s);
s.on("disconnect", (r) => console.log("disconnect", r));
try {
  const acks = await Promise.all(Array.from({ length: 1000 }, (_, i) => emitWithAckArgs(s, "message-with-ack", i)));
  console.log("acks", acks.length);
} catch (e) { console.log("ERR", e.message.split("\n")[0]); }
console.log(server.log().split("\n").filter(l => !l.includes("http.request")).slice(6).join("\n"));
await server.stop();

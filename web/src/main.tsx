import { render } from "preact";
import { App } from "./ui/App";
import { startServiceWorker } from "./push";
import { boot, openConversation } from "./store";
import "./styles.css";

const root = document.getElementById("app")!;
root.textContent = "";
render(<App />, root);
void boot();
// A clicked notification (src/sw/sw.ts) opens its conversation in this window.
startServiceWorker((id) => void openConversation(id));

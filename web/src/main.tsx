import { render } from "preact";
import { App } from "./ui/App";
import { boot } from "./store";
import "./styles.css";

const root = document.getElementById("app")!;
root.textContent = "";
render(<App />, root);
void boot();

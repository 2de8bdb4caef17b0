import { useStore } from "./hooks";
import { SignIn } from "./SignIn";
import { Main } from "./Main";

export function App() {
  const s = useStore();
  if (s.phase === "loading") return <p class="boot" role="status">Loading Parley…</p>;
  if (s.phase === "signed-out") return <SignIn />;
  return <Main s={s} />;
}

import { useEffect, useLayoutEffect, useState } from "preact/hooks";
import { getState, subscribe, type State } from "../store";

/** Re-renders the component whenever the store changes. */
export function useStore(): State {
  const [, force] = useState(0);
  const seen = getState();
  useLayoutEffect(() => {
    const unsubscribe = subscribe(() => force((n) => n + 1));
    // A change between this render and the subscription (boot() starts at once) would be lost.
    if (getState() !== seen) force((n) => n + 1);
    return unsubscribe;
  }, []);
  return seen;
}

/** The current time, refreshed every `ms` (for countdowns and "today" labels). */
export function useNow(ms: number, active = true): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return now;
}

let seq = 0;
export function useId(prefix: string): string {
  const [id] = useState(() => `${prefix}-${++seq}`);
  return id;
}

export function isWide(): boolean {
  return typeof matchMedia === "function" && matchMedia("(min-width: 720px)").matches;
}

// The notification controls: `Notifications` (Web Push for this browser, a toggle button in the
// sidebar's header, with what went wrong shown under the header), and `Mute` in a
// conversation's header (a toggle: pressing it while not muted opens a menu of durations,
// pressing it while muted unmutes). The menu follows the WAI-ARIA menu button pattern, as
// MessageActions does.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { MUTE_CHOICES, isMuted, muteUntil, mutedLabel } from "../lib/notifications";
import type { Conversation } from "../lib/types";
import { dismissPushMessage, setMuted, togglePush } from "../push";
import { notify, type State } from "../store";
import { useId, useNow } from "./hooks";
import { IconBell, IconBellOff } from "./icons";

export function NotificationsButton({ s }: { s: State }) {
  const { status } = s.push;
  const on = status === "on";
  const title =
    status === "on"
      ? "Notifications are on for this browser"
      : status === "busy"
        ? "Turning notifications on or off…"
        : status === "unsupported"
          ? "This browser cannot show notifications from Parley"
          : status === "denied"
            ? "Notifications are blocked in this browser"
            : "Notifications are off for this browser";
  return (
    <button
      type="button"
      class={`ghost icon-btn bell ${on ? "on" : ""}`}
      aria-label="Notifications"
      aria-pressed={on}
      aria-busy={status === "busy"}
      title={title}
      onClick={() => void togglePush()}
    >
      {on ? <IconBell /> : <IconBellOff />}
    </button>
  );
}

/** What the last press of `Notifications` ran into, until dismissed. */
export function PushMessage({ s }: { s: State }) {
  if (!s.push.message) return null;
  return (
    <div class="banner push-message" role="alert">
      <p>{s.push.message}</p>
      <button type="button" class="ghost small" onClick={dismissPushMessage}>
        Dismiss
      </button>
    </div>
  );
}

export function MuteButton({ conv }: { conv: Conversation }) {
  const now = useNow(60_000);
  const muted = isMuted(conv, now);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const wrap = useRef<HTMLSpanElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const buttonId = useId("mute");
  const menuId = useId("mute-menu");
  const labelId = useId("mute-state");
  useLayoutEffect(() => {
    if (open) (menu.current?.querySelector("button") as HTMLButtonElement | null)?.focus();
  }, [open]);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: PointerEvent) => {
      if (!wrap.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", onDown);
    return () => document.removeEventListener("pointerdown", onDown);
  }, [open]);

  const run = async (until: number | null) => {
    if (busy) return;
    setOpen(false);
    button.current?.focus();
    setBusy(true);
    const err = await setMuted(conv.id, until);
    setBusy(false);
    if (err) notify(err);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const items = Array.from(menu.current?.querySelectorAll<HTMLButtonElement>("button") ?? []);
    const i = items.indexOf(document.activeElement as HTMLButtonElement);
    let to = -1;
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      setOpen(false);
      return button.current?.focus();
    } else if (e.key === "Tab") return setOpen(false);
    else if (e.key === "ArrowDown") to = (i + 1) % items.length;
    else if (e.key === "ArrowUp") to = (i - 1 + items.length) % items.length;
    else if (e.key === "Home") to = 0;
    else if (e.key === "End") to = items.length - 1;
    else return;
    e.preventDefault();
    items[to]?.focus();
  };

  return (
    <span
      class="mute"
      ref={wrap}
      onFocusOut={(e) => {
        const to = (e as FocusEvent).relatedTarget as Node | null;
        if (open && to && !wrap.current?.contains(to)) setOpen(false);
      }}
    >
      <button
        ref={button}
        id={buttonId}
        type="button"
        class={`ghost small mute-btn ${muted ? "on" : ""}`}
        aria-pressed={muted}
        aria-haspopup={muted ? undefined : "menu"}
        aria-expanded={muted ? undefined : open}
        aria-controls={open ? menuId : undefined}
        aria-describedby={muted ? labelId : undefined}
        aria-busy={busy || undefined}
        title={muted ? `${mutedLabel(conv, now)}. Press to unmute.` : "Mute this conversation's notifications"}
        onClick={() => (muted ? void run(null) : setOpen(!open))}
      >
        {muted ? <IconBellOff /> : <IconBell />}
        {/* Visually hidden on a phone, where the icon alone leaves the title its room. */}
        <span class="mute-text">Mute</span>
      </button>
      {muted && (
        <span id={labelId} class="small muted mute-state">
          {mutedLabel(conv, now)}
        </span>
      )}
      {open && (
        <div ref={menu} id={menuId} role="menu" aria-labelledby={buttonId} class="popup menu mute-menu" onKeyDown={onKeyDown}>
          {MUTE_CHOICES.map((c) => (
            <button key={c.label} type="button" role="menuitem" tabIndex={-1} onClick={() => void run(muteUntil(c.ms))}>
              {c.label}
            </button>
          ))}
        </div>
      )}
    </span>
  );
}

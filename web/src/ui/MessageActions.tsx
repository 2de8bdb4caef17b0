// The `Message actions` button of a message and what it opens: a menu (Reply, Edit, Delete,
// React) and the small emoji picker behind React. The WAI-ARIA menu button pattern: the
// button says it has a menu and whether it is open; in the menu the arrow keys, Home and End
// move, Escape closes and gives focus back to the button, Tab closes; a click outside closes.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { QUICK_EMOJI } from "../lib/reactions";
import { useId } from "./hooks";
import { IconMore } from "./icons";

export interface MessageActionsProps {
  canReply: boolean;
  canEdit: boolean;
  canDelete: boolean;
  canReact: boolean;
  /** One's own reaction on the message (the picker shows it pressed). */
  mine: string | null;
  onReply: () => void;
  onEdit: () => void;
  onDelete: () => void;
  onReact: (emoji: string) => void;
}

type Open = "menu" | "react" | null;

export function MessageActions(props: MessageActionsProps) {
  const [open, setOpen] = useState<Open>(null);
  const wrap = useRef<HTMLSpanElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const popup = useRef<HTMLDivElement>(null);
  const buttonId = useId("msg-actions");
  const menuId = useId("msg-menu");

  const close = (focusButton: boolean) => {
    setOpen(null);
    if (focusButton) button.current?.focus();
  };

  // Focus the first item (or one's own reaction) when a popup opens; open it upwards when
  // it would run past the bottom of the message list.
  useLayoutEffect(() => {
    const el = popup.current;
    if (!open || !el) return;
    const box = el.closest(".messages-scroll")?.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    if (box && r.bottom > box.bottom && r.top - r.height - 40 > box.top) el.classList.add("up");
    const items = itemsOf(el);
    (items.find((b) => b.getAttribute("aria-pressed") === "true") ?? items[0])?.focus();
  }, [open]);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: PointerEvent) => {
      if (!wrap.current?.contains(e.target as Node)) setOpen(null);
    };
    document.addEventListener("pointerdown", onDown);
    return () => document.removeEventListener("pointerdown", onDown);
  }, [open]);

  const onKeyDown = (e: KeyboardEvent) => {
    const items = itemsOf(popup.current);
    const i = items.indexOf(document.activeElement as HTMLButtonElement);
    const vertical = open === "menu";
    let to = -1;
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      return close(true);
    } else if (e.key === "Tab") {
      return close(false);
    } else if (e.key === (vertical ? "ArrowDown" : "ArrowRight")) to = (i + 1) % items.length;
    else if (e.key === (vertical ? "ArrowUp" : "ArrowLeft")) to = (i - 1 + items.length) % items.length;
    else if (e.key === "Home") to = 0;
    else if (e.key === "End") to = items.length - 1;
    else return;
    e.preventDefault();
    items[to]?.focus();
  };

  const choose = (then: () => void, focusButton: boolean) => () => {
    close(focusButton);
    then();
  };

  return (
    <span
      class="msg-actions"
      ref={wrap}
      onFocusOut={(e) => {
        const to = (e as FocusEvent).relatedTarget as Node | null;
        if (open && to && !wrap.current?.contains(to)) setOpen(null);
      }}
    >
      <button
        ref={button}
        id={buttonId}
        type="button"
        class="icon-btn more"
        aria-label="Message actions"
        aria-haspopup="menu"
        aria-expanded={open === "menu"}
        aria-controls={open === "menu" ? menuId : undefined}
        onClick={() => setOpen(open ? null : "menu")}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            setOpen("menu");
          }
        }}
      >
        <IconMore />
      </button>
      {open === "menu" && (
        <div ref={popup} id={menuId} role="menu" aria-labelledby={buttonId} class="popup menu" onKeyDown={onKeyDown}>
          {props.canReply && (
            <button type="button" role="menuitem" tabIndex={-1} onClick={choose(props.onReply, false)}>
              Reply
            </button>
          )}
          {props.canEdit && (
            <button type="button" role="menuitem" tabIndex={-1} onClick={choose(props.onEdit, false)}>
              Edit
            </button>
          )}
          {props.canDelete && (
            // Focus goes back to the button first, so the dialog gives it back there too.
            <button type="button" role="menuitem" tabIndex={-1} class="danger" onClick={choose(props.onDelete, true)}>
              Delete
            </button>
          )}
          {props.canReact && (
            <button type="button" role="menuitem" tabIndex={-1} aria-haspopup="dialog" onClick={() => setOpen("react")}>
              React
            </button>
          )}
        </div>
      )}
      {open === "react" && (
        <div ref={popup} role="dialog" aria-label="Choose a reaction" class="popup picker" onKeyDown={onKeyDown}>
          {QUICK_EMOJI.map((emoji) => (
            <button
              key={emoji}
              type="button"
              class="emoji"
              aria-pressed={props.mine === emoji}
              onClick={choose(() => props.onReact(emoji), true)}
            >
              {emoji}
            </button>
          ))}
        </div>
      )}
    </span>
  );
}

function itemsOf(el: HTMLElement | null): HTMLButtonElement[] {
  return el ? Array.from(el.querySelectorAll<HTMLButtonElement>("button")) : [];
}

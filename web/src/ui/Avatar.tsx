// A person's or a group's avatar: their picture when they have one, else initials (or the
// group icon) on one of eight colours, with an optional presence dot. Shared by the
// conversation list, the chat header, Group info and Profile. Decorative: the name is next to it.
import { useState } from "preact/hooks";
import { IconGroup } from "./icons";

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const chars = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : parts;
  return chars.map((p) => [...p][0]?.toUpperCase() ?? "").join("") || "?";
}

/** The colour key of a conversation: the other person's for a direct one (so a person keeps
 *  their colour in the contact list, the conversation list and the chat), the group's own. */
export function avatarId(c: { id: number; kind: string }, other?: { id: number }): number {
  return c.kind === "direct" && other ? other.id : c.id + 3;
}

/** One of eight calm hues per person or group, from the id (CSS classes, no inline styles). */
export function hue(id: number): string {
  return `hue-${Math.abs(id) % 8}`;
}

export function Avatar(props: { id: number; name: string; online?: boolean; group?: boolean; url?: string | null; large?: boolean }) {
  // A picture that does not load (gone, offline) falls back to the initials until it changes.
  const [broken, setBroken] = useState<string | null>(null);
  const url = !props.group && props.url && props.url !== broken ? props.url : null;
  return (
    <span class={`avatar ${hue(props.id)} ${url ? "pictured" : ""} ${props.large ? "large" : ""}`} aria-hidden="true">
      {url ? <img src={url} alt="" decoding="async" onError={() => setBroken(url)} /> : props.group ? <IconGroup /> : initials(props.name)}
      {props.online !== undefined && <span class={`dot ${props.online ? "on" : "off"}`} />}
    </span>
  );
}

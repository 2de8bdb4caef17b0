// A person's or a group's avatar: initials (or the group icon) on one of eight colours, with an
// optional presence dot. Shared by the conversation list and the chat header.
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

export function Avatar(props: { id: number; name: string; online?: boolean; group?: boolean }) {
  return (
    <span class={`avatar ${hue(props.id)}`} aria-hidden="true">
      {props.group ? <IconGroup /> : initials(props.name)}
      {props.online !== undefined && <span class={`dot ${props.online ? "on" : "off"}`} />}
    </span>
  );
}

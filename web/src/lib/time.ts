// Dates for the chat view: day separators and local times.

import type { ChatMessage } from "./types";

export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function startOfDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** "Today", "Yesterday", a weekday within the week, else the date. */
export function dayLabel(ms: number, now: number, locale?: string): string {
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / 86_400_000);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  const d = new Date(ms);
  if (days > 1 && days < 7) return d.toLocaleDateString(locale, { weekday: "long" });
  const sameYear = new Date(now).getFullYear() === d.getFullYear();
  return d.toLocaleDateString(locale, sameYear ? { day: "numeric", month: "long" } : { day: "numeric", month: "long", year: "numeric" });
}

export function timeLabel(ms: number, locale?: string): string {
  return new Date(ms).toLocaleTimeString(locale, { hour: "numeric", minute: "2-digit" });
}

/** A short time for the conversation list: the time today, else the day. */
export function shortStamp(ms: number, now: number, locale?: string): string {
  const label = dayLabel(ms, now, locale);
  if (label === "Today") return timeLabel(ms, locale);
  const d = new Date(ms);
  if (label === "Yesterday") return label;
  const days = Math.round((startOfDay(now) - startOfDay(ms)) / 86_400_000);
  if (days > 1 && days < 7) return d.toLocaleDateString(locale, { weekday: "short" });
  return d.toLocaleDateString(locale, { day: "numeric", month: "short" });
}

export interface DayGroup {
  key: string;
  label: string;
  messages: ChatMessage[];
}

/** Splits an ordered list of messages into days (pending messages belong to the day typed). */
export function groupByDay(list: readonly ChatMessage[], now: number, locale?: string): DayGroup[] {
  const out: DayGroup[] = [];
  for (const m of list) {
    const key = dayKey(m.sent_at);
    const last = out[out.length - 1];
    if (last && last.key === key) last.messages.push(m);
    else out.push({ key, label: dayLabel(m.sent_at, now, locale), messages: [m] });
  }
  return out;
}

export function lastSeenLabel(ms: number, now: number, locale?: string): string {
  const label = dayLabel(ms, now, locale);
  const t = timeLabel(ms, locale);
  if (label === "Today") return `last seen today at ${t}`;
  if (label === "Yesterday") return `last seen yesterday at ${t}`;
  return `last seen ${label} at ${t}`;
}

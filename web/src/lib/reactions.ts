// Reactions: one per person per message (API.md), shown as chips under the message.

import type { Reaction } from "./types";

/** The emoji the picker offers. */
export const QUICK_EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🙏"] as const;

/** The emoji `userId` reacted with, or null. */
export function myReaction(reactions: readonly Reaction[], userId: number): string | null {
  return reactions.find((r) => r.user_ids.includes(userId))?.emoji ?? null;
}

/**
 * What `reaction:set` should carry when `userId` picks `emoji`: the emoji, or null (remove)
 * when it is already theirs. Picking another replaces theirs (one per person).
 */
export function reactionToSend(reactions: readonly Reaction[], emoji: string, userId: number): string | null {
  return myReaction(reactions, userId) === emoji ? null : emoji;
}

export interface ReactionChip {
  emoji: string;
  count: number;
  mine: boolean;
  userIds: number[];
}

/** The chips to show, in the server's order; an emoji nobody uses any more has none. */
export function reactionChips(reactions: readonly Reaction[], userId: number): ReactionChip[] {
  return reactions
    .filter((r) => r.user_ids.length > 0)
    .map((r) => ({ emoji: r.emoji, count: r.user_ids.length, mine: r.user_ids.includes(userId), userIds: r.user_ids }));
}

import { beforeEach, describe, expect, it } from "vitest";
import type { Contact, Conversation, User } from "../src/lib/types";
import { applyUser } from "../src/profile";
import { getState, initial, set } from "../src/state";

const alice: User = { id: 1, name: "Alice", phone: "+14155550101", avatar_url: null };
const bob: User = { id: 2, name: "Bob", phone: "+14155550102", avatar_url: null };
const carol: User = { id: 3, name: "Carol", phone: "+14155550103", avatar_url: null };

const direct = (id: number, other: User, title: string): Conversation => ({
  id, kind: "direct", title, members: [{ ...alice }, { ...other, read_up_to: 4 }], last_message: null, unread_count: 0, seq: 9,
});

describe("user:updated", () => {
  beforeEach(() => {
    const contacts: Contact[] = [{ user: bob, name: "Bobby", conversation_id: 10 }];
    set({
      ...initial,
      phase: "signed-in",
      me: alice,
      contacts,
      conversations: [direct(10, bob, "Bobby"), direct(11, carol, "Carol")],
    });
  });

  it("changes every copy of the user, keeping one's own nickname for a contact and the members' marks", () => {
    applyUser({ ...bob, name: "Robert", avatar_url: "/media/77" });
    const s = getState();
    expect(s.contacts[0]).toMatchObject({ name: "Bobby", user: { name: "Robert", avatar_url: "/media/77" } });
    const conv = s.conversations.find((c) => c.id === 10)!;
    expect(conv.title).toBe("Bobby");
    expect(conv.members[1]).toMatchObject({ id: 2, name: "Robert", avatar_url: "/media/77", read_up_to: 4 });
  });

  it("retitles a direct conversation with someone who is not a contact", () => {
    applyUser({ ...carol, name: "Caroline" });
    expect(getState().conversations.find((c) => c.id === 11)!.title).toBe("Caroline");
  });

  it("changes one's own user (another device of one's own), and removes a picture", () => {
    applyUser({ ...alice, avatar_url: "/media/5" });
    expect(getState().me?.avatar_url).toBe("/media/5");
    applyUser({ ...alice, avatar_url: null });
    expect(getState().me?.avatar_url).toBeNull();
    expect(getState().conversations[0].members[0].avatar_url).toBeNull();
  });
});

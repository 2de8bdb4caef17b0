"""What the REST chat tests (test_chat_rest, test_chat_conversations) share: a case that checks
contacts and conversation objects against the contract's shapes."""

from chat_support import USER_FIELDS, ChatCase

CONTACT_FIELDS = {"user", "name", "conversation_id"}


class RestCase(ChatCase):
    flags = ("--message-rate", "0")

    def assertContact(self, contact, user, name, conversation_id=None):
        self.assertIsInstance(contact, dict, contact)
        self.assertLessEqual(CONTACT_FIELDS, set(contact), contact)
        self.assertEqual(contact["user"], user.user, contact)
        self.assertEqual(contact["name"], name, contact)
        self.assertEqual(contact["conversation_id"], conversation_id, contact)
        if "online" in contact:  # an extra of docs/api.md
            self.assertIsInstance(contact["online"], bool, contact)

    def assertConversation(self, conversation, kind, members, title, last_message=None,
                           unread_count=0, admins=(), seq=None):
        """A v2 conversation object: ``members`` (Users) with their user fields, ``admins``
        (Users) the only ones flagged admin, and when given the conversation's latest seq."""
        self.assertConversationObject(conversation)
        self.assertEqual(conversation["kind"], kind, conversation)
        self.assertEqual(conversation["title"], title, conversation)
        self.assertEqual(sorted(({key: member[key] for key in USER_FIELDS}
                                 for member in conversation["members"]), key=lambda user: user["id"]),
                         sorted((member.user for member in members), key=lambda user: user["id"]),
                         conversation)
        self.assertEqual(sorted(member["id"] for member in conversation["members"] if member["admin"]),
                         sorted(admin.id for admin in admins), conversation)
        self.assertEqual(conversation["last_message"], last_message, conversation)
        self.assertEqual(conversation["unread_count"], unread_count, conversation)
        if seq is not None:
            self.assertEqual(conversation["seq"], seq, conversation)

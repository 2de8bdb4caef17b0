"""Sending attachments (API.md "Attachments and profile pictures", docs/api.md "Attachments on
messages"): `message:send {"attachments": [upload_id]}` with uploads made by
`POST /api/v1/uploads`; the message object's `attachments` in the ack, the live `message`, the
history, after a retry with the same client_id, and gone from a tombstone; and the refusals
(not a list, too many, twice the same, not the sender's, attached already, unknown).

Nothing sleeps: every wait is an ack, an event queue or a response (log_support).
"""

import unittest

from image_support import png
from log_support import NOT_IDS, LogCase, new_client_id


class AttachmentSendsTest(LogCase):
    def upload(self, user, data, content_type, filename):
        response = self.server.request("POST", "/api/v1/uploads", body=data, token=user.token,
                                       headers={"Content-Type": content_type,
                                                "X-Filename": filename})
        self.assertEqual(response.status, 201, response)
        return response.json()["upload"]

    def image(self, user, name="dot.png"):
        return self.upload(user, png(3, 2), "image/png", name)

    def text_file(self, user, name="notes.txt"):
        return self.upload(user, b"some notes\n", "text/plain", name)

    def send_with(self, chat, conversation_id, body, attachments, client_id=None):
        payload = self.send_payload(conversation_id, body, client_id=client_id)
        payload["attachments"] = attachments
        return chat.ack("message:send", payload)

    def assertAttachmentsOf(self, message, uploads):
        """The message carries exactly these uploads, in this order, each as the contract's
        attachment (the upload object plus its url, and its thumbnail's for an image)."""
        expected = []
        for upload in uploads:
            shown = dict(upload, url=f"/media/{upload['id']}")
            if upload["kind"] == "image":
                shown["thumbnail_url"] = f"/media/{upload['id']}/thumbnail"
            expected.append(shown)
        self.assertEqual(message["attachments"], expected, message)

    def test_a_message_with_attachments_reaches_everyone_with_them(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        group = self.group(alice, bob, self.user("Carol"))["id"]
        photo, notes = self.image(alice), self.text_file(alice)
        self.assertEqual((photo["kind"], photo["width"], photo["height"]), ("image", 3, 2))
        self.assertEqual(notes["kind"], "file")

        # An empty body is fine with attachments; the order is the request's.
        client_id = new_client_id()
        sent = self.ok(self.send_with(a, group, "   ", [notes["id"], photo["id"]], client_id))
        self.assertEqual(sent["body"], "")
        self.assertAttachmentsOf(sent, [notes, photo])
        delivered = b.wait_for("message", lambda m: m["id"] == sent["id"])[0]
        self.assertEqual(delivered, sent)
        [listed] = self.history_page(bob, group)["messages"]
        self.assertEqual(listed, sent)

        # A retry with the same client_id answers the original, though its uploads are taken.
        again = self.ok(self.send_with(a, group, "   ", [notes["id"], photo["id"]], client_id))
        self.assertEqual(again, sent)
        self.assertEqual(len(self.history_page(bob, group)["messages"]), 1)

        # With a body too; and the uploads' bytes are readable by a member now.
        captioned = self.ok(self.send_with(a, group, "look", [self.image(alice, "b.png")["id"]]))
        self.assertEqual((captioned["body"], len(captioned["attachments"])), ("look", 1))
        self.assertEqual(self.server.get(sent["attachments"][1]["thumbnail_url"],
                                         token=bob.token).status, 200)
        self.assertEqual(self.server.get(sent["attachments"][0]["url"], token=bob.token).status, 200)

    def test_editing_and_deleting_a_message_with_attachments(self):
        alice, bob = self.users("Alice", "Bob")
        a, b = self.chat(alice), self.chat(bob)
        direct = self.direct(alice, bob)
        photo = self.image(alice)
        sent = self.ok(self.send_with(a, direct, "caption", [photo["id"]]))
        # The caption can be taken away: the photo is still there.
        edited = self.ok(self.edit(a, sent["id"], "  "))
        self.assertEqual((edited["body"], edited["attachments"]), ("", sent["attachments"]))
        # A message without attachments still needs a body.
        plain = self.send(a, direct, "words")
        self.refused(self.edit(a, plain["id"], " "), "bad_request")
        # Deleted: no attachments any more, anywhere.
        removed = self.delete(a, sent["id"])
        self.assertTombstone(self.ok(removed), of=sent)
        self.assertEqual(self.ok(removed)["attachments"], [])
        updated = b.wait_for("message:updated",
                             lambda m: m["id"] == sent["id"] and m["deleted"])[0]
        self.assertEqual(updated["attachments"], [])
        [listed, _] = self.history_page(bob, direct)["messages"]
        self.assertEqual(listed["attachments"], [])

    def test_uploads_that_cannot_be_attached(self):
        alice, bob = self.users("Alice", "Bob")
        a = self.chat(alice)
        direct = self.direct(alice, bob)
        mine, bobs = self.image(alice), self.image(bob)
        self.ok(self.send_with(a, direct, "first", [mine["id"]]))
        for attachments in ([mine["id"]],  # attached already
                            [bobs["id"]],  # someone else's
                            [10 ** 9],  # no such upload
                            [self.text_file(alice)["id"], bobs["id"]]):  # one of them
            with self.subTest(attachments=attachments):
                error = self.refused(self.send_with(a, direct, "again", attachments), "bad_request")
                self.assertEqual(error["message"], "That upload cannot be attached.")
        # Nothing of those was stored, and an upload refused with another is still free.
        self.assertEqual(len(self.history_page(alice, direct)["messages"]), 1)
        free = self.text_file(alice, "free.txt")
        self.ok(self.send_with(a, direct, "", [free["id"]]))
        # Bob's upload is still his to send.
        self.ok(self.send_with(self.chat(bob), direct, "", [bobs["id"]]))

    def test_a_profile_picture_cannot_be_attached(self):
        alice, bob = self.users("Alice", "Bob")
        direct = self.direct(alice, bob)
        response = self.server.request("PUT", "/api/v1/me/avatar", body=png(4, 4), token=alice.token,
                                       headers={"Content-Type": "image/png"})
        self.assertEqual(response.status, 200, response)
        avatar_url = response.json()["user"]["avatar_url"]
        self.assertRegex(avatar_url, r"^/media/[1-9][0-9]*/thumbnail$")
        avatar = int(avatar_url.split("/")[2])
        error = self.refused(self.send_with(self.chat(alice), direct, "me", [avatar]), "bad_request")
        self.assertEqual(error["message"], "That upload cannot be attached.")

    def test_malformed_attachments(self):
        alice, bob = self.users("Alice", "Bob")
        a = self.chat(alice)
        direct = self.direct(alice, bob)
        uploads = [self.text_file(alice, f"{n}.txt")["id"] for n in range(11)]
        cases = [("not a list", "bad_request"), ({"id": uploads[0]}, "bad_request"),
                 (uploads[0], "bad_request"), (uploads, "bad_request"),  # 11: one too many
                 ([uploads[0], uploads[0]], "bad_request")]
        cases += [([value], "bad_request") for value in NOT_IDS]
        for attachments, code in cases:
            with self.subTest(attachments=attachments):
                self.refused(self.send_with(a, direct, "x", attachments), code)
        # Without attachments (absent, null or empty) the body is required as before.
        for attachments in (None, []):
            self.refused(self.send_with(a, direct, " ", attachments), "bad_request")
        self.refused(a.ack("message:send", self.send_payload(direct, "")), "bad_request")
        self.refused(self.send_with(a, direct, "x" * 4001, uploads[:1]), "body_too_long")
        self.assertEqual(self.history_page(alice, direct)["messages"], [])
        # Ten is the most, and fine.
        sent = self.ok(self.send_with(a, direct, "", uploads[:10]))
        self.assertEqual([attachment["id"] for attachment in sent["attachments"]], uploads[:10])


if __name__ == "__main__":
    unittest.main()

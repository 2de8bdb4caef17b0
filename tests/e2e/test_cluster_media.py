"""Media on two nodes (docs/architecture.md "Uploads and media"): a photo uploaded through one
node is served by the other to a member, with the same bytes and ETag, and to nobody else; a
profile picture set on one is seen through the other; a delete for everyone on one takes the
photo away on both. Once with the blob store in PostgreSQL (the default on a postgres://
database), once in a directory both nodes share (`--media-store DIR`).

Two `parley serve` nodes on one PostgreSQL schema of the `services` fixture with the Redis bus
(test_cluster_bus.ClusterCase). Nothing sleeps: every wait is an ack, an event or a response.
"""

import tempfile
import unittest

from chat_client import message_payload
from image_support import png
from test_cluster_bus import ClusterCase


class CrossNodeMediaTest(ClusterCase):
    def media_flags(self):
        return ()  # the blob store follows the database: PostgreSQL

    def setUp(self):
        super().setUp()
        self.start_cluster(flags=self.media_flags())

    def upload(self, node, user, data, content_type, name):
        response = node.request("POST", "/api/v1/uploads", body=data, token=user.token,
                                headers={"Content-Type": content_type, "X-Filename": name})
        self.assertEqual(response.status, 201, response)
        return response.json()["upload"]

    def fetch(self, node, user, path, status=200):
        response = node.request("GET", path, token=user.token)
        self.assertEqual(response.status, status, (path, response))
        return response

    def test_a_photo_sent_through_one_node_is_served_by_the_other_to_members_only(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n2)
        carol = self.user("Carol", server=self.n2)
        conversation = self.open_conversation(alice, bob, status=201)["id"]
        a = self.chat(alice, server=self.n1)
        b = self.chat(bob, server=self.n2)

        photo = self.upload(self.n1, alice, png(64, 48), "image/png", "sunset.png")
        notes = self.upload(self.n1, alice, b"climbing notes\n", "text/plain", "notes é.txt")
        payload = message_payload("look", conversation, None, "media-1", None)
        payload["attachments"] = [photo["id"], notes["id"]]
        ack = a.ack("message:send", payload)
        self.assertIn("message", ack, ack)
        sent = ack["message"]
        delivered = b.wait_for("message", lambda m: m["id"] == sent["id"])[0]
        self.assertEqual(delivered["attachments"], sent["attachments"])

        for path in (f"/media/{photo['id']}", f"/media/{photo['id']}/thumbnail",
                     f"/media/{notes['id']}"):
            here = self.fetch(self.n1, alice, path)
            there = self.fetch(self.n2, bob, path)
            self.assertEqual(there.body, here.body, path)
            self.assertTrue(there.body, path)
            self.assertEqual(there.headers.get("ETag"), here.headers.get("ETag"), path)
            self.fetch(self.n2, carol, path, status=404)  # not a member
            self.fetch(self.n1, carol, path, status=404)
        download = self.fetch(self.n2, bob, f"/media/{notes['id']}")
        self.assertEqual(download.body, b"climbing notes\n")
        self.assertIn("attachment", download.headers.get("Content-Disposition"))

        # A delete for everyone on node 1: gone on node 2 as well.
        deleted = a.ack("message:delete", {"message_id": sent["id"]})
        self.assertIn("message", deleted, deleted)
        b.wait_for("message:updated", lambda m: m["id"] == sent["id"] and m["deleted"])
        for path in (f"/media/{photo['id']}", f"/media/{photo['id']}/thumbnail",
                     f"/media/{notes['id']}"):
            self.fetch(self.n2, bob, path, status=404)
            self.fetch(self.n1, bob, path, status=404)

    def test_a_profile_picture_set_through_one_node_is_seen_through_the_other(self):
        alice = self.user("Alice", server=self.n1)
        bob = self.user("Bob", server=self.n2)
        self.add_contact(bob, alice)
        response = self.n1.request("PUT", "/api/v1/me/avatar", body=png(120, 90),
                                   token=alice.token, headers={"Content-Type": "image/png"})
        self.assertEqual(response.status, 200, response)
        avatar_url = response.json()["user"]["avatar_url"]
        self.assertTrue(avatar_url)

        listed = self.n2.request("GET", "/api/v1/contacts", token=bob.token).json()["contacts"]
        self.assertEqual(listed[0]["user"]["avatar_url"], avatar_url)
        there = self.fetch(self.n2, bob, avatar_url)
        here = self.fetch(self.n1, alice, avatar_url)
        self.assertEqual(there.body, here.body)
        self.assertTrue(there.headers.get("Content-Type").startswith("image/"))


class CrossNodeSharedDirectoryMediaTest(CrossNodeMediaTest):
    def media_flags(self):
        directory = tempfile.TemporaryDirectory(prefix="parley-shared-media-")
        self.addCleanup(directory.cleanup)
        return ("--media-store", directory.name)


if __name__ == "__main__":
    unittest.main()

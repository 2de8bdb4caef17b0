// Uploads in the store, on both engines: what they record, who may read them, attaching them
// to messages (once, by their owner), what a delete for everyone removes, profile pictures,
// the quotas' sums, and what the collector may remove (stale uploads, unreferenced blobs).

#include "store/engines.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace parley::store {
namespace {

std::string key(char fill) { return std::string(64, fill); }

class upload_test : public conformance::store_test {
protected:
  user_row alice_, bob_, carol_;
  id chat_ = 0;

  void SetUp() override {
    store_test::SetUp();
    alice_ = transaction_.insert_user("+14155550101", "Alice", 100);
    bob_ = transaction_.insert_user("+14155550102", "Bob", 100);
    carol_ = transaction_.insert_user("+14155550103", "Carol", 100);
    chat_ = transaction_
                .insert_conversation(conversation_kind::direct, std::nullopt,
                                     std::pair{alice_.user_id, bob_.user_id}, alice_.user_id, 100)
                .conversation_id;
    transaction_.insert_member(chat_, alice_.user_id, 100);
    transaction_.insert_member(chat_, bob_.user_id, 100);
  }

  upload_row upload(const user_row& owner, char blob, std::int64_t size = 1000, unix_ms at = 1000,
                    bool image = true) {
    transaction_.keep_blob(key(blob), size, at);
    upload_row row;
    row.owner_id = owner.user_id;
    row.kind = image ? upload_kind::image : upload_kind::file;
    row.mime = image ? "image/jpeg" : "application/pdf";
    row.size = size;
    row.name = image ? "photo.jpg" : "report é.pdf";
    if (image) {
      row.width = 640;
      row.height = 480;
      transaction_.keep_blob(key(static_cast<char>(blob + 1)), 100, at);
      row.thumbnail_blob = key(static_cast<char>(blob + 1));
      row.thumbnail_mime = "image/jpeg";
    }
    row.blob = key(blob);
    row.created_at = at;
    return transaction_.insert_upload(row, at / 86'400'000);
  }

  message_row send(const user_row& sender, std::string_view client_id) {
    return transaction_.append_message(chat_, sender.user_id, "", 2000, client_id)->message;
  }
};
PARLEY_STORE_ENGINES(upload_test);

TEST_P(upload_test, an_upload_keeps_what_was_detected_and_counts_towards_the_quotas) {
  const auto photo = upload(alice_, 'a', 1000);
  const auto file = upload(alice_, 'c', 500, 2000, false);
  const auto found = transaction_.upload(photo.upload_id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->kind, upload_kind::image);
  EXPECT_EQ(found->mime, "image/jpeg");
  EXPECT_EQ(found->width, 640);
  EXPECT_EQ(found->height, 480);
  EXPECT_EQ(found->blob, key('a'));
  EXPECT_EQ(found->thumbnail_blob, key('b'));
  EXPECT_FALSE(found->message_id);
  const auto pdf = transaction_.upload(file.upload_id);
  EXPECT_EQ(pdf->name, "report é.pdf");
  EXPECT_FALSE(pdf->width);
  EXPECT_FALSE(pdf->thumbnail_blob);
  EXPECT_EQ(transaction_.bytes_stored(alice_.user_id), 1500);
  EXPECT_EQ(transaction_.bytes_uploaded_on(alice_.user_id, 0), 1500);
  transaction_.delete_upload(photo.upload_id);
  EXPECT_FALSE(transaction_.upload(photo.upload_id));
  EXPECT_EQ(transaction_.bytes_stored(alice_.user_id), 500);
  EXPECT_EQ(transaction_.bytes_uploaded_on(alice_.user_id, 0), 1500) << "a delete gives no day back";
  EXPECT_EQ(transaction_.bytes_uploaded_on(bob_.user_id, 0), 0);
}

TEST_P(upload_test, uploads_attach_once_by_their_owner_in_order_and_a_delete_removes_them) {
  const auto first = upload(alice_, 'a');
  const auto second = upload(alice_, 'c', 10, 1000, false);
  const auto bobs = upload(bob_, 'e');
  const auto message = send(alice_, "m1");
  const std::array<id, 2> order{second.upload_id, first.upload_id};
  EXPECT_TRUE(transaction_.attach_uploads(message.message_id, alice_.user_id, order));
  const auto stored = transaction_.message(message.message_id);
  ASSERT_EQ(stored->attachments.size(), 2U);
  EXPECT_EQ(stored->attachments[0].upload_id, second.upload_id);
  EXPECT_EQ(stored->attachments[1].upload_id, first.upload_id);
  EXPECT_EQ(stored->attachments[1].message_id, message.message_id);
  EXPECT_EQ(transaction_.changes_after(chat_, 0, 0, 10).front().attachments.size(), 2U);

  const auto other = send(alice_, "m2");
  const std::array<id, 1> again{first.upload_id};
  EXPECT_FALSE(transaction_.attach_uploads(other.message_id, alice_.user_id, again));
  const std::array<id, 1> not_hers{bobs.upload_id};
  EXPECT_FALSE(transaction_.attach_uploads(other.message_id, alice_.user_id, not_hers));
  EXPECT_FALSE(transaction_.upload(bobs.upload_id)->message_id);

  transaction_.delete_message(message.message_id, 3000, transaction_.next_seq(chat_));
  const auto deleted = transaction_.message(message.message_id);
  EXPECT_TRUE(deleted->attachments.empty());
  EXPECT_EQ(deleted->attachment_count, 0);
  EXPECT_FALSE(transaction_.upload(first.upload_id));
  EXPECT_FALSE(transaction_.upload(second.upload_id));
}

TEST_P(upload_test, only_the_uploader_and_members_who_see_the_message_may_read_an_upload) {
  const auto early = upload(alice_, 'a');
  const auto message = send(alice_, "m1");
  const std::array<id, 1> attached{early.upload_id};
  ASSERT_TRUE(transaction_.attach_uploads(message.message_id, alice_.user_id, attached));
  const auto loose = upload(alice_, 'c');
  EXPECT_TRUE(transaction_.readable_upload(early.upload_id, alice_.user_id));
  EXPECT_TRUE(transaction_.readable_upload(early.upload_id, bob_.user_id));
  EXPECT_FALSE(transaction_.readable_upload(early.upload_id, carol_.user_id));
  EXPECT_TRUE(transaction_.readable_upload(loose.upload_id, alice_.user_id));
  EXPECT_FALSE(transaction_.readable_upload(loose.upload_id, bob_.user_id)) << "not attached yet";
  EXPECT_FALSE(transaction_.readable_upload(424242, alice_.user_id));

  // A member who joined after the message does not see it, nor what is attached to it.
  const auto group = transaction_.insert_conversation(conversation_kind::group, "g", std::nullopt,
                                                      alice_.user_id, 100).conversation_id;
  transaction_.insert_member(group, alice_.user_id, 100, 0, true);
  const auto in_group = transaction_.append_message(group, alice_.user_id, "", 2000, "g1")->message;
  const auto photo = upload(alice_, 'e');
  const std::array<id, 1> photos{photo.upload_id};
  ASSERT_TRUE(transaction_.attach_uploads(in_group.message_id, alice_.user_id, photos));
  transaction_.insert_member(group, carol_.user_id, 2100, transaction_.next_seq(group));
  EXPECT_FALSE(transaction_.readable_upload(photo.upload_id, carol_.user_id));
  // Removed members lose it; a deleted message takes it from everyone but its uploader.
  EXPECT_TRUE(transaction_.readable_upload(early.upload_id, bob_.user_id));
  transaction_.delete_member(chat_, bob_.user_id);
  EXPECT_FALSE(transaction_.readable_upload(early.upload_id, bob_.user_id));
}

TEST_P(upload_test, a_profile_picture_is_readable_by_anyone_and_replacing_it_names_the_old_one) {
  const auto first = upload(alice_, 'a');
  const auto second = upload(alice_, 'c');
  EXPECT_FALSE(transaction_.set_avatar(alice_.user_id, first.upload_id));
  EXPECT_EQ(transaction_.user_by_id(alice_.user_id)->avatar_upload_id, first.upload_id);
  EXPECT_TRUE(transaction_.readable_upload(first.upload_id, carol_.user_id));
  EXPECT_EQ(transaction_.set_avatar(alice_.user_id, second.upload_id), first.upload_id);
  EXPECT_FALSE(transaction_.readable_upload(first.upload_id, carol_.user_id));
  // A picture is not attachable, and it is never stale.
  const auto message = send(alice_, "m1");
  const std::array<id, 1> picture{second.upload_id};
  EXPECT_FALSE(transaction_.attach_uploads(message.message_id, alice_.user_id, picture));
  const auto stale = transaction_.stale_uploads(1'000'000, 10);
  EXPECT_EQ(stale, std::vector<id>{first.upload_id});
  EXPECT_EQ(transaction_.set_avatar(alice_.user_id, std::nullopt), second.upload_id);
  EXPECT_FALSE(transaction_.user_by_id(alice_.user_id)->avatar_upload_id);
  // The members' and contacts' views carry the picture too.
  transaction_.set_avatar(alice_.user_id, second.upload_id);
  transaction_.insert_contact(bob_.user_id, alice_.user_id, "Al", 100);
  EXPECT_EQ(transaction_.contact(bob_.user_id, alice_.user_id)->user.avatar_upload_id,
            second.upload_id);
}

TEST_P(upload_test, stale_uploads_are_old_unattached_ones_and_blobs_go_once_nothing_refers_to_them) {
  const auto old = upload(alice_, 'a', 10, 1000);
  const auto recent = upload(alice_, 'c', 10, 90'000);
  const auto attached = upload(alice_, 'e', 10, 1000);
  const auto message = send(alice_, "m1");
  const std::array<id, 1> ids{attached.upload_id};
  ASSERT_TRUE(transaction_.attach_uploads(message.message_id, alice_.user_id, ids));
  EXPECT_EQ(transaction_.stale_uploads(50'000, 10), std::vector<id>{old.upload_id});

  EXPECT_TRUE(transaction_.take_unreferenced_blobs(1'000'000, 10).empty()) << "all referenced";
  transaction_.delete_upload(old.upload_id);
  transaction_.keep_blob(key('z'), 5, 1000); // stored, but its upload never came
  auto taken = transaction_.take_unreferenced_blobs(50'000, 10);
  std::ranges::sort(taken);
  EXPECT_EQ(taken, (std::vector<std::string>{key('a'), key('b'), key('z')}));
  EXPECT_TRUE(transaction_.take_unreferenced_blobs(50'000, 10).empty()) << "rows are gone";
  // A blob stored again recently is left alone although unreferenced.
  transaction_.delete_upload(recent.upload_id);
  transaction_.keep_blob(key('c'), 10, 200'000);
  taken = transaction_.take_unreferenced_blobs(150'000, 10);
  EXPECT_EQ(taken, std::vector<std::string>{key('d')});
}

} // namespace
} // namespace parley::store

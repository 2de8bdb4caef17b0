#pragma once
// The uploads half of sql_transaction: uploads, their blobs, attachments and profile pictures.
// Included by each engine's transaction translation unit. Internal to the store.

#include "store/sql_rows.hpp"
#include "store/sql_transaction.hpp"
#include "store/upload_queries.hpp"

#include <stdexcept>

namespace parley::store {
namespace sql_upload {

inline upload_kind kind_from(std::string_view text) {
  return text == "image" ? upload_kind::image : upload_kind::file;
}
inline const char* kind_name(upload_kind kind) {
  return kind == upload_kind::image ? "image" : "file";
}

inline constexpr auto read_upload = [](const auto& row) -> upload_row {
  upload_row upload;
  upload.upload_id = row.integer(0);
  upload.owner_id = row.integer(1);
  upload.kind = kind_from(row.text(2));
  upload.mime = row.text(3);
  upload.size = row.integer(4);
  upload.name = row.text(5);
  if (!row.is_null(6)) {
    upload.width = static_cast<int>(row.integer(6));
  }
  if (!row.is_null(7)) {
    upload.height = static_cast<int>(row.integer(7));
  }
  upload.blob = row.text(8);
  if (!row.is_null(9)) {
    upload.thumbnail_blob = row.text(9);
  }
  if (!row.is_null(10)) {
    upload.thumbnail_mime = row.text(10);
  }
  upload.created_at = row.integer(11);
  upload.message_id = row.optional_integer(12);
  return upload;
};

} // namespace sql_upload

template <class Connection>
std::optional<upload_row> sql_transaction<Connection>::upload(id upload_id) {
  auto& statement = cached(upload_sql::upload);
  statement.bind(1, upload_id);
  return sql_rows::single_row(statement, sql_upload::read_upload);
}

template <class Connection>
std::optional<upload_row> sql_transaction<Connection>::readable_upload(id upload_id, id viewer) {
  auto& statement = cached(upload_sql::readable_upload);
  statement.bind(1, upload_id).bind(2, viewer);
  return sql_rows::single_row(statement, sql_upload::read_upload);
}

template <class Connection>
std::int64_t sql_transaction<Connection>::bytes_uploaded_on(id owner, std::int64_t day) {
  auto& statement = cached(upload_sql::bytes_uploaded_on);
  statement.bind(1, owner).bind(2, day);
  return sql_rows::returned_integer(statement);
}

template <class Connection> std::int64_t sql_transaction<Connection>::bytes_stored(id owner) {
  auto& statement = cached(upload_sql::bytes_stored);
  statement.bind(1, owner);
  return sql_rows::returned_integer(statement);
}

template <class Connection>
void sql_transaction<Connection>::keep_blob(std::string_view key, std::int64_t size, unix_ms now) {
  cached(upload_sql::keep_blob).bind(1, key).bind(2, size).bind(3, now).run();
}

template <class Connection>
upload_row sql_transaction<Connection>::insert_upload(const upload_row& upload, std::int64_t day) {
  auto& insert = cached(upload_sql::insert_upload);
  insert.bind(1, upload.owner_id)
      .bind(2, std::string_view(sql_upload::kind_name(upload.kind)))
      .bind(3, upload.mime)
      .bind(4, upload.size)
      .bind(5, upload.name)
      .bind(8, upload.blob)
      .bind(11, upload.created_at);
  const auto optional_integer = [&](int index, std::optional<int> value) {
    if (value) {
      insert.bind(index, std::int64_t{*value});
    } else {
      insert.bind_null(index);
    }
  };
  optional_integer(6, upload.width);
  optional_integer(7, upload.height);
  insert.bind(9, upload.thumbnail_blob).bind(10, upload.thumbnail_mime);
  upload_row stored = upload;
  stored.upload_id = sql_rows::returned_integer(insert);
  stored.message_id.reset();
  cached(upload_sql::count_day).bind(1, upload.owner_id).bind(2, day).bind(3, upload.size).post();
  return stored;
}

template <class Connection>
bool sql_transaction<Connection>::attach_uploads(id message_id, id owner,
                                                 std::span<const id> upload_ids) {
  for (std::size_t position = 0; position < upload_ids.size(); ++position) {
    cached(upload_sql::attach)
        .bind(1, message_id)
        .bind(2, upload_ids[position])
        .bind(3, owner)
        .bind(4, static_cast<std::int64_t>(position))
        .run();
    if (db_.changes() != 1) {
      return false;
    }
  }
  cached(upload_sql::count_attachments)
      .bind(1, message_id)
      .bind(2, static_cast<std::int64_t>(upload_ids.size()))
      .post();
  return true;
}

template <class Connection> void sql_transaction<Connection>::delete_upload(id upload_id) {
  cached(upload_sql::delete_upload).bind(1, upload_id).run();
}

template <class Connection>
std::optional<id> sql_transaction<Connection>::set_avatar(id user_id, std::optional<id> upload_id) {
  auto& current = cached(upload_sql::avatar_of);
  current.bind(1, user_id);
  const auto before = sql_rows::single_row(current, [](const auto& row) {
    return row.optional_integer(0);
  });
  cached(upload_sql::set_avatar).bind(1, user_id).bind(2, upload_id).run();
  return before ? *before : std::nullopt;
}

template <class Connection>
std::vector<id> sql_transaction<Connection>::stale_uploads(unix_ms before, int limit) {
  auto& statement = cached(upload_sql::stale_uploads);
  statement.bind(1, before).bind(2, std::int64_t{limit});
  return sql_rows::all_rows(statement, [](const auto& row) { return row.integer(0); });
}

template <class Connection>
std::vector<std::string> sql_transaction<Connection>::take_unreferenced_blobs(unix_ms before,
                                                                             int limit) {
  auto& statement = cached(upload_sql::take_unreferenced_blobs);
  statement.bind(1, before).bind(2, std::int64_t{limit});
  return sql_rows::all_rows(statement, [](const auto& row) { return row.text(0); });
}

} // namespace parley::store

#include "http/static_files.hpp"

#include "support/temporary_directory.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <zlib.h>

namespace parley::http {
namespace {

class static_files_test : public ::testing::Test {
protected:
  testing::temporary_directory directory_;

  void write(const std::string& name, const std::string& content) {
    const auto path = directory_.path() / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }

  static request get(std::string_view target) {
    request message{beast_http::verb::get, target, 11};
    return message;
  }

  void SetUp() override {
    write("index.html", "<!doctype html><title>Parley</title>");
    write("assets/index-1a2b3c.js", "console.log(1)");
    write("assets/index-4d5e6f.css", "body{}");
    write("favicon.svg", "<svg/>");
  }
};

TEST_F(static_files_test, serves_files_with_their_types) {
  const static_files files(directory_.path());
  EXPECT_FALSE(files.empty());
  EXPECT_EQ(files.file_count(), 4U);
  const struct {
    std::string_view path;
    std::string_view type;
  } cases[] = {
      {"/assets/index-1a2b3c.js", "text/javascript; charset=utf-8"},
      {"/assets/index-4d5e6f.css", "text/css; charset=utf-8"},
      {"/favicon.svg", "image/svg+xml"},
      {"/index.html", "text/html; charset=utf-8"},
      {"/", "text/html; charset=utf-8"},
  };
  for (const auto& example : cases) {
    const auto answer = files.serve(get(example.path), example.path);
    EXPECT_EQ(answer.result(), status::ok) << example.path;
    EXPECT_EQ(answer[beast_http::field::content_type], example.type) << example.path;
    EXPECT_EQ(answer["Content-Security-Policy"], static_files::k_content_security_policy);
    EXPECT_EQ(answer["X-Content-Type-Options"], "nosniff");
  }
  EXPECT_EQ(files.serve(get("/favicon.svg"), "/favicon.svg").body(), "<svg/>");
}

TEST_F(static_files_test, hashed_assets_are_cached_for_good_and_the_rest_revalidated) {
  const static_files files(directory_.path());
  const auto asset = files.serve(get("/assets/index-1a2b3c.js"), "/assets/index-1a2b3c.js");
  EXPECT_EQ(asset[beast_http::field::cache_control], "public, max-age=31536000, immutable");
  const auto page = files.serve(get("/"), "/");
  EXPECT_EQ(page[beast_http::field::cache_control], "no-cache");
  const std::string etag(page[beast_http::field::etag]);
  ASSERT_FALSE(etag.empty());
  auto again = get("/");
  again.set(beast_http::field::if_none_match, etag);
  const auto unchanged = files.serve(again, "/");
  EXPECT_EQ(unchanged.result(), status::not_modified);
  EXPECT_TRUE(unchanged.body().empty());
}

TEST_F(static_files_test, client_side_routes_get_the_page_and_unknown_files_404) {
  const static_files files(directory_.path());
  for (const std::string_view path : {"/c/7", "/contacts", "/c/7/"}) {
    const auto answer = files.serve(get(path), path);
    EXPECT_EQ(answer.result(), status::ok) << path;
    EXPECT_EQ(answer.body(), "<!doctype html><title>Parley</title>") << path;
  }
  for (const std::string_view path :
       {"/missing.js", "/assets/gone-000.js", "/api/v1/nothing", "/api/", "/socket.io/x",
        "/engine.io/", "/../etc/passwd.txt"}) {
    const auto answer = files.serve(get(path), path);
    EXPECT_EQ(answer.result(), status::not_found) << path;
    EXPECT_NE(answer.body().find("\"not_found\""), std::string::npos) << path;
  }
}

TEST_F(static_files_test, a_missing_folder_is_empty) {
  const static_files files(directory_.path() / "nowhere");
  EXPECT_TRUE(files.empty());
}

std::string gunzip(const std::string& bytes) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string result(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(result.data());
  stream.avail_out = static_cast<uInt>(result.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  result.resize(stream.total_out);
  inflateEnd(&stream);
  return result;
}

TEST_F(static_files_test, text_goes_out_gzipped_to_clients_that_accept_it) {
  const std::string script(5000, 'x');
  write("assets/big-000.js", script);
  write("assets/picture-000.png", std::string(5000, 'y')); // already compressed formats stay
  const static_files files(directory_.path());
  auto message = get("/assets/big-000.js");
  message.set(beast_http::field::accept_encoding, "br, gzip;q=0.8");
  const auto zipped = files.serve(message, "/assets/big-000.js");
  EXPECT_EQ(zipped[beast_http::field::content_encoding], "gzip");
  EXPECT_EQ(zipped[beast_http::field::vary], "Accept-Encoding");
  EXPECT_LT(zipped.body().size(), 200U);
  EXPECT_EQ(gunzip(zipped.body()), script);
  const auto plain = files.serve(get("/assets/big-000.js"), "/assets/big-000.js");
  EXPECT_EQ(plain[beast_http::field::content_encoding], "");
  EXPECT_EQ(plain.body(), script);
  EXPECT_NE(plain[beast_http::field::etag], zipped[beast_http::field::etag]);
  auto picture = get("/assets/picture-000.png");
  picture.set(beast_http::field::accept_encoding, "gzip");
  EXPECT_EQ(files.serve(picture, "/assets/picture-000.png")[beast_http::field::content_encoding], "");
}

TEST(accepts_gzip, reads_the_accept_encoding_list) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000, br"));
  EXPECT_FALSE(accepts_gzip("x-gzip2"));
}

TEST(content_type_for, knows_the_web_types_and_falls_back_to_bytes) {
  EXPECT_EQ(content_type_for("a.webmanifest"), "application/manifest+json");
  EXPECT_EQ(content_type_for("a.woff2"), "font/woff2");
  EXPECT_EQ(content_type_for("noextension"), "application/octet-stream");
  EXPECT_EQ(content_type_for("a.exe"), "application/octet-stream");
}

} // namespace
} // namespace parley::http

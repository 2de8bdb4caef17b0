#include "media/sniff.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::media {
namespace {

using namespace std::string_literals;

const std::string png_signature = "\x89PNG\r\n\x1A\n"s;

TEST(sniff, recognises_each_image_by_its_signature) {
  const auto jpeg = sniff("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"s);
  EXPECT_EQ(jpeg.image, image_format::jpeg);
  EXPECT_EQ(jpeg.mime, "image/jpeg");

  const auto png = sniff(png_signature + "\x00\x00\x00\x0DIHDR"s);
  EXPECT_EQ(png.image, image_format::png);
  EXPECT_EQ(png.mime, "image/png");

  const auto gif87 = sniff("GIF87a\x01\x00\x01\x00"s);
  EXPECT_EQ(gif87.image, image_format::gif);
  EXPECT_EQ(gif87.mime, "image/gif");
  EXPECT_EQ(sniff("GIF89a").image, image_format::gif);

  const auto webp = sniff("RIFF\x24\x00\x00\x00WEBPVP8 "s);
  EXPECT_EQ(webp.image, image_format::webp);
  EXPECT_EQ(webp.mime, "image/webp");
}

TEST(sniff, truncated_or_near_signatures_are_not_images) {
  for (const std::string& head :
       {"\xFF\xD8"s, "\xFF\xD9\xFF"s, png_signature.substr(0, 7), "\x89PNG\r\n\x1A\x0B"s, "GIF8"s,
        "GIF88a"s, "RIFF\x24\x00\x00\x00WEB"s, "RIFF\x24\x00\x00\x00WAVEfmt "s,
        "XXXX\x24\x00\x00\x00WEBP"s, ""s}) {
    const auto result = sniff(head);
    EXPECT_FALSE(result.image) << testing::PrintToString(head);
    EXPECT_FALSE(result.mime.empty());
    // libmagic may like some of these, but without the signature they are never one of ours.
    EXPECT_NE(result.mime, "image/jpeg");
    EXPECT_NE(result.mime, "image/png");
    EXPECT_NE(result.mime, "image/gif");
    EXPECT_NE(result.mime, "image/webp");
  }
}

TEST(sniff, html_is_a_file_whatever_it_was_declared_as) {
  const auto result = sniff("<!DOCTYPE html>\n<html><head><title>x</title></head>"
                            "<body><script>alert(1)</script></body></html>\n");
  EXPECT_FALSE(result.image);
  EXPECT_EQ(result.mime, "text/html");
}

TEST(sniff, svg_is_a_file_not_an_image) {
  const auto result = sniff("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">"
                            "<script>alert(1)</script><rect width=\"10\" height=\"10\"/></svg>\n");
  EXPECT_FALSE(result.image);
  EXPECT_EQ(result.mime, "image/svg+xml");
}

TEST(sniff, other_files_are_named_by_libmagic) {
  EXPECT_EQ(sniff("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"s).mime,
            "application/pdf");
  EXPECT_EQ(sniff("PK\x03\x04\x14\x00\x00\x00\x08\x00"s).image, std::nullopt);
  EXPECT_EQ(sniff("just some words of plain text\n").mime, "text/plain");
}

TEST(sniff, unknown_bytes_are_an_octet_stream) {
  const auto result = sniff("\x00\x01\x02\x03\xFE\xED\xFA\xCE\x99\x98\x97\x96\x00\x00\x01"s);
  EXPECT_FALSE(result.image);
  EXPECT_EQ(result.mime, "application/octet-stream");
}

TEST(sniff, looks_only_at_the_first_four_kibibytes) {
  std::string text(sniff_bytes, 'a');
  text += png_signature; // beyond the window: irrelevant
  EXPECT_FALSE(sniff(text).image);
  EXPECT_EQ(sniff(png_signature + std::string(3 * sniff_bytes, '\0')).image, image_format::png);
}

TEST(sniff, the_declared_name_plays_no_part) {
  // The API takes bytes only; a PNG signature is a PNG and text is text, whatever the upload
  // claimed. This is the signature table itself, checked without libmagic.
  EXPECT_EQ(image_signature(png_signature), image_format::png);
  EXPECT_EQ(image_signature("<svg"), std::nullopt);
  EXPECT_EQ(mime_of(image_format::gif), "image/gif");
}

} // namespace
} // namespace parley::media

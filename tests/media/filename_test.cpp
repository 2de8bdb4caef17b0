#include "media/filename.hpp"

#include "common/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::media {
namespace {

using namespace std::string_literals;

TEST(decode_filename, decodes_percent_encoded_utf8) {
  EXPECT_EQ(decode_filename("report%202024.pdf"), "report 2024.pdf");
  EXPECT_EQ(decode_filename("caf%C3%A9.txt"), "caf\xC3\xA9.txt");
  EXPECT_EQ(decode_filename("%E6%97%A5%E6%9C%AC%E8%AA%9E.png"),
            "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E.png");
  EXPECT_EQ(decode_filename("%F0%9F%8E%89party.jpg"), "\xF0\x9F\x8E\x89party.jpg");
  EXPECT_EQ(decode_filename("a+b.txt"), "a+b.txt");        // '+' is not a space
  EXPECT_EQ(decode_filename("%e2%82%ac"), "\xE2\x82\xAC"); // lower-case hex
}

TEST(decode_filename, non_ascii_names_round_trip_unchanged) {
  for (const std::string& name : {"caf\xC3\xA9.txt"s, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E.docx"s,
                                  "\xF0\x9F\x98\x80\xF0\x9F\x8E\x89.gif"s,
                                  "e\xCC\x81t\xC3\xA9 (d\xC3\xA9"
                                  "compos\xC3\xA9).txt"s,
                                  "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D.pdf"s}) {
    EXPECT_EQ(sanitize_filename(name), name);
    std::string encoded;
    for (const char c : name) {
      static constexpr char hex[] = "0123456789ABCDEF";
      encoded += '%';
      encoded += hex[static_cast<unsigned char>(c) >> 4];
      encoded += hex[static_cast<unsigned char>(c) & 0x0F];
    }
    EXPECT_EQ(decode_filename(encoded), name);
  }
}

TEST(decode_filename, bad_escapes_are_kept_as_literal_percent_signs) {
  EXPECT_EQ(decode_filename("100%.txt"), "100%.txt");
  EXPECT_EQ(decode_filename("%zz%4"), "%zz%4");
  EXPECT_EQ(decode_filename("%"), "%");
  EXPECT_EQ(decode_filename("a%2"), "a%2");
  EXPECT_EQ(decode_filename("%2541"), "%41"); // decoded once only
}

TEST(decode_filename, path_separators_and_traversal_are_neutralised) {
  EXPECT_EQ(decode_filename("../../etc/passwd"), "_.._etc_passwd");
  EXPECT_EQ(decode_filename("..%2F..%2Fetc%2Fpasswd"), "_.._etc_passwd");
  EXPECT_EQ(decode_filename("..%5C..%5Cwindows%5Cwin.ini"), "_.._windows_win.ini");
  EXPECT_EQ(decode_filename("/absolute"), "_absolute");
  EXPECT_EQ(decode_filename("."), "file");
  EXPECT_EQ(decode_filename(".."), "file");
  EXPECT_EQ(decode_filename("%2E%2E"), "file");
  EXPECT_EQ(decode_filename("..."), "file");
  EXPECT_EQ(decode_filename(" . . "), "file");
  EXPECT_EQ(decode_filename(".bashrc"), "bashrc");
  EXPECT_EQ(decode_filename("  ..hidden name "), "hidden name ");
}

TEST(decode_filename, nul_and_control_characters_are_dropped) {
  EXPECT_EQ(decode_filename("evil%00.php.jpg"), "evil.php.jpg");
  EXPECT_EQ(decode_filename("evil\0.txt"s), "evil.txt");
  EXPECT_EQ(decode_filename("line%0D%0ABreak: yes.txt"), "lineBreak: yes.txt");
  EXPECT_EQ(decode_filename("tab%09and%7Fdel.txt"), "tabanddel.txt");
  EXPECT_EQ(decode_filename("c1%C2%85%C2%9Fnext.txt"), "c1next.txt"); // U+0085, U+009F
  EXPECT_EQ(decode_filename("%1B[31mred.txt"), "[31mred.txt");
  EXPECT_EQ(decode_filename("%00"), "file");
  EXPECT_EQ(decode_filename(""), "file");
}

TEST(decode_filename, bidirectional_controls_are_dropped) {
  // "invoice<U+202E>fdp.exe" displays as "invoiceexe.pdf".
  EXPECT_EQ(decode_filename("invoice%E2%80%AEfdp.exe"), "invoicefdp.exe");
  EXPECT_EQ(decode_filename("a%E2%81%A6b%E2%81%A9c%E2%80%8Fd%E2%80%8Ee%D8%9Cf"), "abcdef");
  EXPECT_EQ(decode_filename("%E2%80%AE..%2F"), "_"); // override dropped, then dots stripped
}

TEST(decode_filename, ill_formed_utf8_becomes_replacement_characters) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(decode_filename("a%FFb"), "a" + replacement + "b");
  EXPECT_EQ(decode_filename("%C0%AF.txt"), replacement + replacement + ".txt"); // overlong '/'
  EXPECT_EQ(decode_filename("%ED%A0%80x"), replacement + replacement + replacement + "x");
  EXPECT_EQ(decode_filename("end%C3"), "end" + replacement);
  EXPECT_TRUE(text::is_valid_utf8(decode_filename("\xF4\x90\x80\x80\x80\xFE")));
}

TEST(decode_filename, long_names_are_cut_on_a_code_point_and_keep_their_extension) {
  const std::string long_ascii(4096, 'a');
  const auto cut = decode_filename(long_ascii + ".pdf");
  EXPECT_EQ(cut.size(), max_filename_bytes);
  EXPECT_TRUE(cut.ends_with("aaa.pdf"));

  std::string long_japanese;
  for (int index = 0; index < 1400; ++index) {
    long_japanese += "\xE6\x97\xA5"; // 3 bytes each, 4200 bytes
  }
  const auto japanese = decode_filename(long_japanese + ".txt");
  EXPECT_LE(japanese.size(), max_filename_bytes);
  EXPECT_GE(japanese.size(), max_filename_bytes - 2);
  EXPECT_TRUE(text::is_valid_utf8(japanese));
  EXPECT_TRUE(japanese.ends_with("\xE6\x97\xA5.txt"));

  std::string emoji;
  for (int index = 0; index < 1024; ++index) {
    emoji += "\xF0\x9F\x8E\x89"; // 4 KB of 4-byte code points, no extension
  }
  const auto party = decode_filename(emoji);
  EXPECT_EQ(party.size(), 252U); // 63 whole code points
  EXPECT_TRUE(text::is_valid_utf8(party));

  // A very long "extension" is not kept: the name is cut like any other.
  const auto no_extension = decode_filename("a." + long_ascii);
  EXPECT_EQ(no_extension.size(), max_filename_bytes);
  EXPECT_TRUE(no_extension.starts_with("a.aaa"));
}

TEST(content_disposition, ascii_names) {
  EXPECT_EQ(content_disposition("attachment", "report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
  EXPECT_EQ(content_disposition("inline", "photo 1.jpg"),
            "inline; filename=\"photo 1.jpg\"; filename*=UTF-8''photo%201.jpg");
}

TEST(content_disposition, quotes_backslashes_and_percent_are_replaced_in_the_fallback) {
  EXPECT_EQ(content_disposition("attachment", "say \"hi\" 100%.txt"),
            "attachment; filename=\"say _hi_ 100_.txt\"; "
            "filename*=UTF-8''say%20%22hi%22%20100%25.txt");
  EXPECT_EQ(content_disposition("attachment", "a\\b"), // a backslash is already a '_' in a name
            "attachment; filename=\"a_b\"; filename*=UTF-8''a_b");
}

TEST(content_disposition, non_ascii_names) {
  EXPECT_EQ(content_disposition("attachment", "caf\xC3\xA9.txt"),
            "attachment; filename=\"caf_.txt\"; filename*=UTF-8''caf%C3%A9.txt");
  EXPECT_EQ(content_disposition("inline", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E.png"),
            "inline; filename=\"___.png\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.png");
  EXPECT_EQ(content_disposition("attachment", "\xF0\x9F\x8E\x89.gif"),
            "attachment; filename=\"_.gif\"; filename*=UTF-8''%F0%9F%8E%89.gif");
}

TEST(content_disposition, attr_chars_are_left_alone_and_everything_else_is_encoded) {
  EXPECT_EQ(content_disposition("attachment", "!#$&+-.^_`|~AZaz09"),
            "attachment; filename=\"!#$&+-.^_`|~AZaz09\"; filename*=UTF-8''!#$&+-.^_`|~AZaz09");
  EXPECT_EQ(content_disposition("attachment", "a'b(c)d*e,f;g=h[i]j{k}l<m>n?o@p:q"),
            "attachment; filename=\"a'b(c)d*e,f;g=h[i]j{k}l<m>n?o@p:q\"; "
            "filename*=UTF-8''a%27b%28c%29d%2Ae%2Cf%3Bg%3Dh%5Bi%5Dj%7Bk%7Dl%3Cm%3En%3Fo%40p%3Aq");
}

TEST(content_disposition, unsafe_input_is_sanitised_and_cannot_inject_headers) {
  EXPECT_EQ(content_disposition("attachment", "x\r\nSet-Cookie: a=b"),
            "attachment; filename=\"xSet-Cookie: a=b\"; filename*=UTF-8''xSet-Cookie%3A%20a%3Db");
  EXPECT_EQ(content_disposition("attachment", ""),
            "attachment; filename=\"file\"; filename*=UTF-8''file");
  EXPECT_EQ(content_disposition("form-data", "../x"),
            "attachment; filename=\"_x\"; filename*=UTF-8''_x");
}

} // namespace
} // namespace parley::media

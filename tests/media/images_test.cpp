#include "media/images.hpp"

#include "image_support.hpp"
#include "support/temporary_directory.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace parley::media {
namespace {

using namespace test_images;
using parley::testing::temporary_directory;

class images : public ::testing::Test {
protected:
  void SetUp() override { initialise_image_library(); }

  std::expected<image_info, image_error> process(const std::string& input,
                                                 const image_limits& limits = {}) {
    return process_image(input, limits, output(), thumbnail());
  }
  [[nodiscard]] std::string output() const { return directory.file("out"); }
  [[nodiscard]] std::string thumbnail() const { return directory.file("thumb"); }

  // The size of an image file (JPEG, PNG or GIF: the loaders this layer allows).
  static std::pair<int, int> size_of(const std::string& path) {
    VipsImage* raw = vips_image_new_from_file(path.c_str(), nullptr);
    if (raw == nullptr) {
      ADD_FAILURE() << "cannot open " << path << ": " << vips_reason();
      return {0, 0};
    }
    image_ptr image(raw);
    return {vips_image_get_width(raw), vips_image_get_height(raw)};
  }

  command_result exiftool(const std::string& arguments) {
    return run_command("exiftool " + arguments, directory.file("exiftool.out"));
  }

  temporary_directory directory;
};

TEST_F(images, a_jpeg_photo_is_re_encoded_as_jpeg_with_a_thumbnail) {
  const auto input = directory.file("photo.jpg");
  expect_saved(vips_jpegsave(make_image(1600, 1000).get(), input.c_str(), nullptr));
  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->width, 1600);
  EXPECT_EQ(info->height, 1000);
  EXPECT_EQ(info->pages, 1);
  EXPECT_EQ(info->mime, "image/jpeg");
  EXPECT_EQ(info->thumbnail_mime, "image/jpeg");
  EXPECT_EQ(info->thumbnail_width, 800);
  EXPECT_EQ(info->thumbnail_height, 500);
  EXPECT_EQ(size_of(output()), std::make_pair(1600, 1000));
  EXPECT_EQ(size_of(thumbnail()), std::make_pair(800, 500));
  EXPECT_TRUE(read_file(output()).starts_with("\xFF\xD8\xFF"));
}

TEST_F(images, a_small_image_is_never_upscaled) {
  const auto input = directory.file("small.png");
  expect_saved(vips_pngsave(make_image(300, 120).get(), input.c_str(), nullptr));
  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->mime, "image/png"); // PNG stays lossless
  EXPECT_EQ(info->thumbnail_width, 300);
  EXPECT_EQ(info->thumbnail_height, 120);
  EXPECT_EQ(size_of(thumbnail()), std::make_pair(300, 120));
}

TEST_F(images, a_tall_image_gets_a_thumbnail_whose_long_edge_is_800) {
  const auto input = directory.file("tall.png");
  expect_saved(vips_pngsave(make_image(500, 2000, 4, 100).get(), input.c_str(), nullptr));
  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->mime, "image/png");
  EXPECT_EQ(info->thumbnail_width, 200);
  EXPECT_EQ(info->thumbnail_height, 800);
}

TEST_F(images, webp_becomes_jpeg_without_transparency_and_png_with_it) {
  const auto opaque = directory.file("opaque.webp");
  expect_saved(vips_webpsave(make_image(200, 100).get(), opaque.c_str(), nullptr));
  const auto photo = process(opaque);
  ASSERT_TRUE(photo) << photo.error().message;
  EXPECT_EQ(photo->mime, "image/jpeg");
  EXPECT_TRUE(read_file(output()).starts_with("\xFF\xD8\xFF"));

  const auto transparent = directory.file("transparent.webp");
  expect_saved(vips_webpsave(make_image(200, 100, 4, 40).get(), transparent.c_str(), "lossless",
                             TRUE, nullptr));
  const auto drawing = process(transparent);
  ASSERT_TRUE(drawing) << drawing.error().message;
  EXPECT_EQ(drawing->mime, "image/png");
  EXPECT_EQ(drawing->thumbnail_mime, "image/png");
  EXPECT_TRUE(read_file(output()).starts_with("\x89PNG"));
}

TEST_F(images, an_opaque_alpha_channel_is_dropped) {
  const auto input = directory.file("opaque-alpha.webp");
  expect_saved(
      vips_webpsave(make_image(64, 64, 4, 255).get(), input.c_str(), "lossless", TRUE, nullptr));
  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->mime, "image/jpeg");
}

TEST_F(images, a_still_gif_becomes_png) {
  const auto input = directory.file("still.gif");
  expect_saved(vips_gifsave(make_image(120, 80).get(), input.c_str(), nullptr));
  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->pages, 1);
  EXPECT_EQ(info->mime, "image/png");
  EXPECT_EQ(size_of(output()), std::make_pair(120, 80));
}

TEST_F(images, an_animated_gif_stays_animated_and_so_does_its_thumbnail) {
  const auto input = directory.file("animated.gif");
  expect_saved(vips_gifsave(make_animation(1000, 400, 3).get(), input.c_str(), nullptr));
  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->pages, 3);
  EXPECT_EQ(info->width, 1000);
  EXPECT_EQ(info->height, 400);
  EXPECT_EQ(info->mime, "image/gif");
  EXPECT_EQ(info->thumbnail_mime, "image/gif");
  EXPECT_EQ(info->thumbnail_width, 800);
  EXPECT_EQ(info->thumbnail_height, 320);

  VipsImage* raw = nullptr;
  ASSERT_EQ(vips_gifload(thumbnail().c_str(), &raw, "n", -1, nullptr), 0) << vips_reason();
  image_ptr thumb(raw);
  EXPECT_EQ(vips_image_get_n_pages(raw), 3);
  EXPECT_EQ(vips_image_get_page_height(raw), 320);
}

TEST_F(images, gps_exif_is_gone_from_the_image_and_its_thumbnail) {
  const auto input = directory.file("gps.jpg");
  expect_saved(vips_jpegsave(make_image(1200, 900).get(), input.c_str(), nullptr));
  const auto written = exiftool("-q -overwrite_original -GPSLatitude=48.8584 -GPSLatitudeRef=N "
                                "-GPSLongitude=2.2945 -GPSLongitudeRef=E -Make=Parley "
                                "-Model=Camera -XMP:Creator=Someone " +
                                input);
  ASSERT_EQ(written.status, 0) << "exiftool is needed (scripts/install-deps.sh test): "
                               << written.output;
  const auto before = exiftool("-s -s -s -GPSLatitude -Make " + input);
  ASSERT_NE(before.output.find("48"), std::string::npos) << before.output;
  ASSERT_NE(before.output.find("Parley"), std::string::npos) << before.output;

  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_EQ(info->mime, "image/jpeg");
  for (const auto& path : {output(), thumbnail()}) {
    for (const auto& segment : jpeg_app_segments(read_file(path))) {
      // Only JFIF's APP0 may remain: no APP1 (Exif, XMP), APP2 (ICC), APP13 (IPTC), comment.
      EXPECT_EQ(segment.marker, 0xE0)
          << path << ": marker " << std::hex << segment.marker << " " << segment.payload;
      EXPECT_TRUE(segment.payload.starts_with(std::string("JFIF\0", 5))) << path;
    }
    const auto metadata =
        exiftool("-s -G1 -a -EXIF:all -GPS:all -XMP:all -IPTC:all -ICC_Profile:all " + path);
    EXPECT_EQ(metadata.output, "") << path;
    const auto everything = exiftool("-s -a -G0 " + path);
    EXPECT_EQ(everything.status, 0) << everything.output;
    EXPECT_EQ(everything.output.find("GPS"), std::string::npos) << everything.output;
    EXPECT_EQ(everything.output.find("Parley"), std::string::npos) << everything.output;
    EXPECT_EQ(everything.output.find("Someone"), std::string::npos) << everything.output;
  }
}

TEST_F(images, exif_orientation_6_is_applied_and_dropped) {
  const auto input = directory.file("rotated.jpg");
  expect_saved(vips_jpegsave(make_image(400, 100).get(), input.c_str(), nullptr));
  const auto written = exiftool("-q -overwrite_original -Orientation#=6 " + input);
  ASSERT_EQ(written.status, 0) << written.output;

  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->width, 100);
  EXPECT_EQ(info->height, 400);
  EXPECT_EQ(size_of(output()), std::make_pair(100, 400));
  EXPECT_EQ(size_of(thumbnail()), std::make_pair(100, 400));
  EXPECT_EQ(exiftool("-s -s -s -Orientation " + output()).output, "");
}

TEST_F(images, an_embedded_icc_profile_is_applied_and_not_kept) {
  // A CMYK JPEG carrying its profile: the output is sRGB, with no APP2 (ICC) segment.
  const auto input = directory.file("cmyk.jpg");
  VipsImage* cmyk = nullptr;
  ASSERT_EQ(vips_icc_transform(make_image(200, 150).get(), &cmyk, "cmyk", "input_profile", "srgb",
                               nullptr),
            0)
      << vips_reason();
  image_ptr owned(cmyk);
  ASSERT_TRUE(vips_image_get_typeof(cmyk, VIPS_META_ICC_NAME));
  expect_saved(vips_jpegsave(cmyk, input.c_str(), nullptr));

  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->mime, "image/jpeg");
  for (const auto& segment : jpeg_app_segments(read_file(output()))) {
    EXPECT_EQ(segment.marker, 0xE0);
  }
  VipsImage* raw = nullptr;
  ASSERT_EQ(vips_jpegload(output().c_str(), &raw, nullptr), 0) << vips_reason();
  image_ptr result(raw);
  EXPECT_EQ(vips_image_get_bands(raw), 3);
  EXPECT_EQ(vips_image_get_interpretation(raw), VIPS_INTERPRETATION_sRGB);
}

TEST_F(images, a_decompression_bomb_is_refused_before_decoding) {
  const auto bomb = directory.file("bomb.png");
  write_black_png(bomb, 30000, 30000, 100);
  ASSERT_LT(read_file(bomb).size(), 2'000'000U);

  const long peak_before = peak_resident_kb();
  const auto started = std::chrono::steady_clock::now();
  const auto result = process(bomb);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const long peak_after = peak_resident_kb();

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, image_error_code::over_pixel_limit);
  EXPECT_TRUE(result.error().bad_image());
  EXPECT_NE(result.error().message.find("pixel limit"), std::string::npos)
      << result.error().message;
  EXPECT_LT(peak_after - peak_before, 256L * 1024) << "kB more at peak";
  RecordProperty(
      "refused_in_ms",
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
  EXPECT_FALSE(std::filesystem::exists(output()));
  EXPECT_FALSE(std::filesystem::exists(thumbnail()));
}

TEST_F(images, the_hand_written_png_is_valid_when_small_enough) {
  // The same writer as the bomb's, within the limit: it decodes (so the bomb is refused for
  // its size, not for being broken).
  const auto input = directory.file("black.png");
  write_black_png(input, 3000, 2000, 100);
  const auto info = process(input);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->width, 3000);
  EXPECT_EQ(info->height, 2000);
}

TEST_F(images, the_pixel_limit_is_configurable_and_counts_frames) {
  const auto still = directory.file("still.png");
  expect_saved(vips_pngsave(make_image(100, 100).get(), still.c_str(), nullptr));
  EXPECT_TRUE(process(still, {.max_pixels = 10'000}));
  const auto over = process(still, {.max_pixels = 9'999});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, image_error_code::over_pixel_limit);

  const auto animation = directory.file("frames.gif");
  expect_saved(vips_gifsave(make_animation(100, 100, 3).get(), animation.c_str(), nullptr));
  EXPECT_TRUE(process(animation, {.max_pixels = 30'000}));
  const auto too_many = process(animation, {.max_pixels = 29'999});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, image_error_code::over_pixel_limit);
}

TEST_F(images, truncated_images_are_bad_images) {
  const auto jpeg = directory.file("cut.jpg");
  expect_saved(vips_jpegsave(make_image(640, 480).get(), jpeg.c_str(), nullptr));
  const auto png = directory.file("cut.png");
  expect_saved(vips_pngsave(make_image(640, 480).get(), png.c_str(), nullptr));
  const auto gif = directory.file("cut.gif");
  expect_saved(vips_gifsave(make_animation(200, 100, 3).get(), gif.c_str(), nullptr));
  const auto webp = directory.file("cut.webp");
  expect_saved(vips_webpsave(make_image(640, 480).get(), webp.c_str(), nullptr));
  for (const auto& path : {jpeg, png, gif, webp}) {
    truncate_file(path, 0.6);
    const auto result = process(path);
    ASSERT_FALSE(result) << path << " was accepted";
    EXPECT_EQ(result.error().code, image_error_code::undecodable)
        << path << ": " << result.error().message;
    EXPECT_TRUE(result.error().bad_image());
    EXPECT_FALSE(std::filesystem::exists(output()));
  }
}

TEST_F(images, garbage_after_a_signature_is_a_bad_image) {
  const auto input = directory.file("fake.jpg");
  write_file(input, std::string("\xFF\xD8\xFF\xE0", 4) + std::string(2000, 'x'));
  const auto result = process(input);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, image_error_code::undecodable);
}

TEST_F(images, svg_and_html_never_reach_libvips) {
  const auto svg = directory.file("image.png"); // a name and declared type play no part
  write_file(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>");
  const auto html = directory.file("page.jpg");
  write_file(html, "<!DOCTYPE html><html><body>hi</body></html>");
  for (const auto& path : {svg, html}) {
    const auto result = process(path);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, image_error_code::not_an_image);
    EXPECT_TRUE(result.error().bad_image());
  }
}

TEST_F(images, only_the_four_loaders_can_run) {
  // Even called directly, libvips refuses the loaders that Debian links but we do not want.
  const auto svg = directory.file("drawing.svg");
  write_file(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>");
  VipsImage* raw = nullptr;
  EXPECT_NE(vips_svgload(svg.c_str(), &raw, nullptr), 0);
  EXPECT_EQ(raw, nullptr);
  EXPECT_EQ(vips_image_new_from_file(svg.c_str(), nullptr), nullptr);
  vips_error_clear();

  const auto ppm = directory.file("picture.ppm");
  write_file(ppm, "P6\n2 2\n255\n" + std::string(12, '\x7F'));
  EXPECT_EQ(vips_image_new_from_file(ppm.c_str(), nullptr), nullptr);
  EXPECT_NE(vips_magickload(ppm.c_str(), &raw, nullptr), 0);
  const std::string reason = vips_reason();
  EXPECT_NE(reason.find("blocked"), std::string::npos) << reason;

  const auto png = directory.file("ok.png");
  expect_saved(vips_pngsave(make_image(4, 4).get(), png.c_str(), nullptr));
  raw = vips_image_new_from_file(png.c_str(), nullptr);
  ASSERT_NE(raw, nullptr) << vips_reason();
  g_object_unref(raw);
}

TEST_F(images, a_missing_output_directory_is_an_internal_error) {
  const auto input = directory.file("fine.png");
  expect_saved(vips_pngsave(make_image(10, 10).get(), input.c_str(), nullptr));
  const auto result = process_image(input, {}, directory.path() / "missing" / "out",
                                    directory.path() / "missing" / "thumb");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, image_error_code::internal);
  EXPECT_FALSE(result.error().bad_image());
}

} // namespace
} // namespace parley::media

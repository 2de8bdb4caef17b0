#pragma once
// The checks of the media fuzz target (media_fuzz.cpp), for the deterministic replay in
// parley_media_test. Each aborts the process when an invariant does not hold.

#include <string_view>

namespace parley::media::fuzz {

/// decode_filename(), sanitize_filename() and content_disposition() of `input`.
void check_filename_input(std::string_view input);

/// sniff() of `input`.
void check_sniff_input(std::string_view input);

} // namespace parley::media::fuzz

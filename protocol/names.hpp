#pragma once

// Showing file names to people, losslessly. Names travel as raw bytes; for
// display, valid UTF-8 is kept except that a backslash becomes "\\" and
// control characters and every byte that is not part of valid UTF-8 become
// "\xNN". unescape_name() inverts this exactly, so a user can type any name
// back.

#include <optional>
#include <string>
#include <string_view>

#include "protocol/messages.hpp"

namespace dirscope::protocol {

/// Returns the display form of raw name bytes (always valid UTF-8).
std::string escape_name(std::string_view raw);

/// Inverts escape_name. Returns nullopt on a malformed escape. Input that
/// holds no backslash is returned unchanged.
std::optional<std::string> unescape_name(std::string_view shown);

/// Returns the 64-character lowercase hex form of a digest.
std::string to_hex(const sha256_digest& digest);

/// Reverses `text` by UTF-8 code points (the echo answer). A byte that is
/// not part of a well-formed sequence counts as one unit, so invalid UTF-8
/// is reversed bytewise and nothing is lost.
std::string reverse_text(std::string_view text);

/// Returns "file", "dir", "symlink" or "other".
const char* to_string(entry_type x) noexcept;

} // namespace dirscope::protocol

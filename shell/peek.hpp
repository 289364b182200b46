#pragma once

// cat, head and tail of a remote file: the pure parts (which bytes to
// print, whether they are text, how big the cap is). The console streams
// the file through the download path and calls these on what arrived.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/outcome.hpp"

namespace dirscope::shell {

/// What a peek prints.
enum class peek_kind : uint8_t {
  cat,  ///< the whole file
  head, ///< its first N lines
  tail, ///< its last N lines
};

/// Bytes cat, head and tail read at most without --max (1 MiB).
constexpr uint64_t default_peek_cap = 1u << 20;

/// Largest --max accepted (256 MiB): the server holds the bytes in memory.
constexpr uint64_t max_peek_cap = 256u << 20;

/// Lines head and tail print without -n (as coreutils).
constexpr uint64_t default_peek_lines = 10;

/// Parses a --max value: a byte count with an optional k, M or G suffix
/// (powers of 1024), at least 1 and at most max_peek_cap.
outcome<uint64_t> parse_peek_cap(std::string_view text);

/// The length of the first `n` lines of `data` (through the n-th newline),
/// or nullopt if `data` holds fewer than `n` complete lines. Same lines as
/// coreutils `head -n N`.
std::optional<size_t> head_length(std::string_view data, uint64_t n);

/// Where the last `n` lines of `data` start (a last line without a newline
/// counts), or nullopt if `data` holds fewer than `n` lines and so may not
/// start at a line boundary. Same lines as coreutils `tail -n N`.
std::optional<size_t> tail_start(std::string_view data, uint64_t n);

/// True if `data` is not text to put on a terminal: a NUL byte, a control
/// character other than tab, newline, vertical tab, form feed and carriage
/// return (ESC starts terminal escape sequences), DEL, or a C1 control
/// encoded as UTF-8.
bool looks_binary(std::string_view data);

} // namespace dirscope::shell

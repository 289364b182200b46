#include "shell/peek.hpp"

#include <charconv>

#include "protocol/names.hpp"

namespace dirscope::shell {

outcome<uint64_t> parse_peek_cap(std::string_view text) {
  auto fail = [text] {
    return make_failure(wire_code::bad_request,
                        "--max expects a size in bytes (e.g. 65536, 512k, "
                        "4M), got '"
                          + protocol::escape_name(text) + "'");
  };
  auto number = text;
  uint64_t scale = 1;
  if (!number.empty()) {
    switch (number.back()) {
      case 'k':
      case 'K':
        scale = uint64_t{1} << 10;
        break;
      case 'm':
      case 'M':
        scale = uint64_t{1} << 20;
        break;
      case 'g':
      case 'G':
        scale = uint64_t{1} << 30;
        break;
      default:
        break;
    }
    if (scale != 1)
      number.remove_suffix(1);
  }
  if (number.empty() || number.front() < '0' || number.front() > '9')
    return fail();
  uint64_t value = 0;
  auto last = number.data() + number.size();
  auto [ptr, ec] = std::from_chars(number.data(), last, value);
  if (ec != std::errc{} && ec != std::errc::result_out_of_range)
    return fail();
  if (ptr != last)
    return fail();
  if (ec == std::errc::result_out_of_range || value > max_peek_cap / scale
      || value * scale > max_peek_cap)
    return make_failure(wire_code::bad_request,
                        "--max is at most 256M (use get for larger files), "
                        "got '"
                          + protocol::escape_name(text) + "'");
  if (value == 0)
    return make_failure(wire_code::bad_request, "--max must be at least 1");
  return value * scale;
}

std::optional<size_t> head_length(std::string_view data, uint64_t n) {
  size_t pos = 0;
  for (uint64_t i = 0; i < n; ++i) {
    auto nl = data.find('\n', pos);
    if (nl == std::string_view::npos)
      return std::nullopt;
    pos = nl + 1;
  }
  return pos;
}

std::optional<size_t> tail_start(std::string_view data, uint64_t n) {
  if (n == 0)
    return data.size();
  // A newline at the very end closes the last line; it does not start one.
  auto end = data.size();
  if (end > 0 && data[end - 1] == '\n')
    --end;
  for (uint64_t i = 0; i < n; ++i) {
    if (end == 0)
      return std::nullopt; // fewer than n lines
    auto nl = data.rfind('\n', end - 1);
    if (nl == std::string_view::npos)
      return std::nullopt;
    if (i + 1 == n)
      return nl + 1;
    end = nl;
  }
  return std::nullopt; // not reached
}

bool looks_binary(std::string_view data) {
  for (size_t i = 0; i < data.size(); ++i) {
    auto c = static_cast<unsigned char>(data[i]);
    if (c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r')
      continue;
    if (c < 0x20 || c == 0x7f)
      return true;
    if (c == 0xc2 && i + 1 < data.size()) {
      auto next = static_cast<unsigned char>(data[i + 1]);
      if (next >= 0x80 && next <= 0x9f)
        return true;
    }
  }
  return false;
}

} // namespace dirscope::shell

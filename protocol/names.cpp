#include "protocol/names.hpp"

#include <algorithm>
#include <cstdint>

namespace dirscope::protocol {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_escaped(std::string& out, uint8_t byte) {
  out += "\\x";
  out += hex_digits[byte >> 4];
  out += hex_digits[byte & 0x0f];
}

bool in(uint8_t x, uint8_t lo, uint8_t hi) {
  return x >= lo && x <= hi;
}

// Returns the length of the well-formed UTF-8 sequence starting at `pos`
// (Unicode Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF),
// or 0 if there is none. Only called for lead bytes >= 0x80.
size_t utf8_sequence(std::string_view s, size_t pos) {
  auto at = [&s](size_t i) -> int {
    return i < s.size() ? static_cast<uint8_t>(s[i]) : -1;
  };
  auto cont = [&at](size_t i, uint8_t lo = 0x80, uint8_t hi = 0xbf) {
    auto c = at(i);
    return c >= 0 && in(static_cast<uint8_t>(c), lo, hi);
  };
  auto b = static_cast<uint8_t>(s[pos]);
  if (in(b, 0xc2, 0xdf))
    return cont(pos + 1) ? 2 : 0;
  if (b == 0xe0)
    return cont(pos + 1, 0xa0, 0xbf) && cont(pos + 2) ? 3 : 0;
  if (in(b, 0xe1, 0xec) || in(b, 0xee, 0xef))
    return cont(pos + 1) && cont(pos + 2) ? 3 : 0;
  if (b == 0xed)
    return cont(pos + 1, 0x80, 0x9f) && cont(pos + 2) ? 3 : 0;
  if (b == 0xf0)
    return cont(pos + 1, 0x90, 0xbf) && cont(pos + 2) && cont(pos + 3) ? 4 : 0;
  if (in(b, 0xf1, 0xf3))
    return cont(pos + 1) && cont(pos + 2) && cont(pos + 3) ? 4 : 0;
  if (b == 0xf4)
    return cont(pos + 1, 0x80, 0x8f) && cont(pos + 2) && cont(pos + 3) ? 4 : 0;
  return 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::string escape_name(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  size_t pos = 0;
  while (pos < raw.size()) {
    auto b = static_cast<uint8_t>(raw[pos]);
    if (b < 0x80) {
      if (b == '\\')
        out += "\\\\";
      else if (b < 0x20 || b == 0x7f)
        append_escaped(out, b);
      else
        out += static_cast<char>(b);
      ++pos;
      continue;
    }
    auto n = utf8_sequence(raw, pos);
    if (n == 0) {
      // Escape only the lead byte; its continuation bytes then fail as
      // leads of their own and get escaped in turn.
      append_escaped(out, b);
      ++pos;
    } else if (b == 0xc2 && static_cast<uint8_t>(raw[pos + 1]) < 0xa0) {
      // C1 controls (U+0080..U+009F): some terminals act on them.
      append_escaped(out, b);
      append_escaped(out, static_cast<uint8_t>(raw[pos + 1]));
      pos += 2;
    } else {
      out.append(raw.substr(pos, n));
      pos += n;
    }
  }
  return out;
}

std::optional<std::string> unescape_name(std::string_view shown) {
  if (shown.find('\\') == std::string_view::npos)
    return std::string{shown};
  std::string out;
  out.reserve(shown.size());
  for (size_t pos = 0; pos < shown.size(); ++pos) {
    if (shown[pos] != '\\') {
      out += shown[pos];
      continue;
    }
    if (pos + 1 >= shown.size())
      return std::nullopt;
    if (shown[pos + 1] == '\\') {
      out += '\\';
      pos += 1;
      continue;
    }
    if (shown[pos + 1] != 'x' || pos + 3 >= shown.size())
      return std::nullopt;
    auto hi = hex_value(shown[pos + 2]);
    auto lo = hex_value(shown[pos + 3]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>((hi << 4) | lo);
    pos += 3;
  }
  return out;
}

std::string to_hex(const sha256_digest& digest) {
  std::string out;
  out.reserve(digest.size() * 2);
  for (auto b : digest) {
    out += hex_digits[b >> 4];
    out += hex_digits[b & 0x0f];
  }
  return out;
}

const char* to_string(entry_type x) noexcept {
  switch (x) {
    case entry_type::file:
      return "file";
    case entry_type::dir:
      return "dir";
    case entry_type::symlink:
      return "symlink";
    case entry_type::other:
      return "other";
  }
  return "other";
}

std::string reverse_text(std::string_view text) {
  std::string result(text.size(), '\0');
  size_t out = text.size();
  for (size_t i = 0; i < text.size();) {
    size_t n = 1;
    if (static_cast<uint8_t>(text[i]) >= 0x80)
      n = std::max<size_t>(1, utf8_sequence(text, i));
    out -= n;
    text.copy(result.data() + out, n, i);
    i += n;
  }
  return result;
}

} // namespace dirscope::protocol

// libFuzzer harness: name escaping. escape_name is lossless (unescape_name
// inverts it exactly) and its output is printable: valid UTF-8 without
// control characters. unescape_name never crashes, and what it accepts
// survives escape and unescape again. reverse_text keeps every byte.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/check.hpp"
#include "protocol/names.hpp"

using namespace dirscope::protocol;

namespace {

// Valid UTF-8 without C0, DEL or C1 controls (what a terminal shows as is).
bool printable_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      if (b < 0x20 || b == 0x7f)
        return false;
      ++i;
      continue;
    }
    size_t n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
    if (n == 0 || b > 0xf4 || i + n > s.size())
      return false;
    uint32_t cp = b & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
        || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
      return false;
    i += n;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw{reinterpret_cast<const char*>(data), size};
  auto shown = escape_name(raw);
  FUZZ_CHECK(printable_utf8(shown));
  auto back = unescape_name(shown);
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(*back == raw);
  FUZZ_CHECK(escape_name(*back) == shown);
  // The input read as something a user typed.
  if (auto typed = unescape_name(raw)) {
    auto again = unescape_name(escape_name(*typed));
    FUZZ_CHECK(again.has_value() && *again == *typed);
    if (raw.find('\\') == std::string_view::npos)
      FUZZ_CHECK(*typed == raw);
  }
  auto reversed = reverse_text(raw);
  FUZZ_CHECK(reversed.size() == raw.size());
  std::string a{raw};
  std::string b = reversed;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  FUZZ_CHECK(a == b);
  return 0;
}

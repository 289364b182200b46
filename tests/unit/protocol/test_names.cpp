#include <catch2/catch.hpp>

#include <random>

#include "protocol/names.hpp"

using namespace std::literals;
using namespace dirscope;
using namespace dirscope::protocol;

namespace {

// Independent well-formedness check (decodes code points instead of using
// byte ranges like the implementation).
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (b < 0x80) {
      n = 1;
      cp = b;
    } else if ((b & 0xe0) == 0xc0) {
      n = 2;
      cp = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
      n = 3;
      cp = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
      n = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size())
      return false;
    for (size_t k = 1; k < n; ++k) {
      auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[n] || cp > 0x10ffff
        || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n;
  }
  return true;
}

// True if the display form holds no C0, DEL or C1 control characters.
bool no_controls(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x20 || b == 0x7f)
      return false;
    if (b == 0xc2 && i + 1 < s.size()) {
      auto c = static_cast<uint8_t>(s[i + 1]);
      if (c >= 0x80 && c <= 0x9f)
        return false;
    }
  }
  return true;
}

void check_round_trip(std::string_view raw) {
  auto shown = escape_name(raw);
  INFO("shown: " << shown);
  CHECK(valid_utf8(shown));
  CHECK(no_controls(shown));
  auto back = unescape_name(shown);
  REQUIRE(back.has_value());
  CHECK(*back == raw);
}

} // namespace

TEST_CASE("escape_name examples", "[names]") {
  struct row {
    std::string_view raw;
    std::string_view shown;
  };
  std::vector<row> table{
    {"", ""},
    {"plain.txt", "plain.txt"},
    {"sp ace", "sp ace"},
    {"caf\xc3\xa9", "caf\xc3\xa9"},
    {"\xe2\x82\xac", "\xe2\x82\xac"},         // U+20AC
    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"}, // U+1F600
    {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"}, // U+10FFFF
    {"\xc2\xa0", "\xc2\xa0"},                 // U+00A0, first after C1
    {"\xff\xfe", "\\xff\\xfe"},
    {"a\\b", "a\\\\b"},
    {"\\", "\\\\"},
    {"\\x41", "\\\\x41"},
    {"line\nbreak", "line\\x0abreak"},
    {"tab\t", "tab\\x09"},
    {"\x1b[31m", "\\x1b[31m"},
    {"del\x7f", "del\\x7f"},
    {"nul\0x"sv, "nul\\x00x"},
    {"\xc0\xaf", "\\xc0\\xaf"},                   // overlong '/'
    {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},          // overlong, 3 bytes
    {"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"}, // overlong, 4 bytes
    {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          // surrogate U+D800
    {"\xed\x9f\xbf", "\xed\x9f\xbf"},             // U+D7FF is fine
    {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, // above U+10FFFF
    {"\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},
    {"\xc2\x85", "\\xc2\\x85"}, // C1 NEL
    {"\xc2\x80", "\\xc2\\x80"},
    {"\xc2\x9b\x31m", "\\xc2\\x9b1m"}, // C1 CSI
    {"\xc3", "\\xc3"},                 // truncated sequence
    {"\xe2\x82", "\\xe2\\x82"},
    {"\xe2\x82\x41", "\\xe2\\x82A"},
    {"\x80", "\\x80"}, // lone continuation
    {"a\xc3\xa9\xff\xc3\xa9", "a\xc3\xa9\\xff\xc3\xa9"},
  };
  for (auto& x : table) {
    INFO("raw: " << std::string{x.raw});
    CHECK(escape_name(x.raw) == x.shown);
    auto back = unescape_name(x.shown);
    REQUIRE(back.has_value());
    CHECK(*back == x.raw);
  }
}

TEST_CASE("escape_name round-trips every single byte", "[names]") {
  for (int b = 0; b < 256; ++b) {
    INFO("byte: " << b);
    std::string raw(1, static_cast<char>(b));
    check_round_trip(raw);
    if (b >= 0x80 || b < 0x20 || b == 0x7f || b == '\\')
      CHECK(escape_name(raw) != raw);
    else
      CHECK(escape_name(raw) == raw);
  }
}

TEST_CASE("escape_name round-trips every two-byte string", "[names]") {
  std::string raw(2, '\0');
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      raw[0] = static_cast<char>(a);
      raw[1] = static_cast<char>(b);
      auto shown = escape_name(raw);
      auto back = unescape_name(shown);
      if (!back || *back != raw || !valid_utf8(shown) || !no_controls(shown))
        FAIL("bytes " << a << ", " << b << " shown as " << shown);
    }
  }
}

TEST_CASE("escape_name round-trips random byte strings", "[names]") {
  std::mt19937 rng{1234};
  // Bias towards bytes that build (or almost build) UTF-8 sequences.
  const uint8_t interesting[] = {0x00, 0x1f, 0x20, 0x5c, 0x78, 0x7f, 0x80, 0x8f,
                                 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
                                 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
  for (int i = 0; i < 20000; ++i) {
    std::string raw(rng() % 24, '\0');
    for (auto& c : raw)
      c = static_cast<char>(rng() % 2 ? rng() : interesting[rng() % 23]);
    auto shown = escape_name(raw);
    auto back = unescape_name(shown);
    if (!back || *back != raw || !valid_utf8(shown) || !no_controls(shown)) {
      INFO("round " << i << ", shown: " << shown);
      FAIL("round trip failed");
    }
  }
}

TEST_CASE("escape_name keeps valid UTF-8 unchanged", "[names]") {
  // Every code point from U+00A0 on (minus surrogates) as UTF-8.
  auto encode = [](uint32_t cp) {
    std::string s;
    if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    }
    s += static_cast<char>(0x80 | (cp & 0x3f));
    return s;
  };
  for (uint32_t cp = 0xa0; cp <= 0x10ffff; ++cp) {
    if (cp >= 0xd800 && cp <= 0xdfff)
      continue;
    auto s = encode(cp);
    if (escape_name(s) != s)
      FAIL("code point " << cp << " was escaped");
  }
}

TEST_CASE("unescape_name accepts both hex cases", "[names]") {
  CHECK(unescape_name("\\xFF\\xfe\\xAb") == "\xff\xfe\xab"s);
  CHECK(unescape_name("\\x41") == "A"s);
  CHECK(unescape_name("\\x00") == "\0"s);
  CHECK(unescape_name("no escapes here") == "no escapes here"s);
  CHECK(unescape_name("") == ""s);
}

TEST_CASE("unescape_name rejects malformed escapes", "[names]") {
  for (auto bad : {"\\q", "\\x4", "\\xZZ", "\\", "a\\", "\\x", "\\xg0", "\\x0g",
                   "\\X41", "\\n", "\\\\\\", "ok\\x4"}) {
    INFO("shown: " << bad);
    CHECK_FALSE(unescape_name(bad).has_value());
  }
}

TEST_CASE("to_hex", "[names]") {
  // SHA-256 of the empty string.
  sha256_digest digest{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
                       0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
                       0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
                       0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
  CHECK(to_hex(digest)
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(to_hex(sha256_digest{}) == std::string(64, '0'));
}

TEST_CASE("to_string(entry_type)", "[names]") {
  CHECK(std::string{to_string(entry_type::file)} == "file");
  CHECK(std::string{to_string(entry_type::dir)} == "dir");
  CHECK(std::string{to_string(entry_type::symlink)} == "symlink");
  CHECK(std::string{to_string(entry_type::other)} == "other");
}

TEST_CASE("reverse_text reverses by code points", "[names][echo]") {
  using dirscope::protocol::reverse_text;
  CHECK(reverse_text("") == "");
  CHECK(reverse_text("hello") == "olleh");
  CHECK(reverse_text("h\xc3\xa9llo") == "oll\xc3\xa9h");
  CHECK(reverse_text("a\xe2\x82\xac" "b") == "b\xe2\x82\xac" "a");
  CHECK(reverse_text("\xf0\x9f\x98\x80x") == "x\xf0\x9f\x98\x80");
  // Invalid UTF-8 reverses bytewise, losslessly.
  CHECK(reverse_text("a\xff\xfe" "b") == "b\xfe\xff" "a");
  CHECK(reverse_text("\xc3") == "\xc3");
  CHECK(reverse_text("\xe2\x82x") == "x\x82\xe2");
  auto odd = std::string("x\0\xed\xa0\x80y", 6);
  CHECK(reverse_text(reverse_text(odd)) == odd);
}

// cat/head/tail of a remote file: which bytes are printed (coreutils'
// lines), what counts as binary, the --max grammar.

#include <catch2/catch.hpp>

#include "shell/peek.hpp"

using namespace dirscope;
using namespace dirscope::shell;

namespace {

std::string head_of(std::string_view data, uint64_t n) {
  auto len = head_length(data, n);
  return std::string{data.substr(0, len ? *len : data.size())};
}

std::string tail_of(std::string_view data, uint64_t n) {
  auto start = tail_start(data, n);
  return std::string{data.substr(start ? *start : 0)};
}

} // namespace

TEST_CASE("head keeps the first N lines like coreutils", "[peek]") {
  CHECK(head_of("a\nb\nc\n", 2) == "a\nb\n");
  CHECK(head_of("a\nb\nc\n", 3) == "a\nb\nc\n");
  CHECK(head_of("a\nb\nc\n", 9) == "a\nb\nc\n");
  CHECK(head_of("a\nb\nc", 3) == "a\nb\nc");
  CHECK(head_of("a\nb\nc", 0) == "");
  CHECK(head_of("", 5) == "");
  CHECK(head_of("\n\n\n", 2) == "\n\n");
  // Fewer complete lines than asked: the caller needs more bytes (or EOF).
  CHECK_FALSE(head_length("a\nb", 2));
  CHECK(head_length("a\nb\n", 2) == size_t{4});
}

TEST_CASE("tail keeps the last N lines like coreutils", "[peek]") {
  CHECK(tail_of("a\nb\nc\n", 2) == "b\nc\n");
  CHECK(tail_of("a\nb\nc", 2) == "b\nc");
  CHECK(tail_of("a\nb\nc\n", 3) == "a\nb\nc\n");
  CHECK(tail_of("a\nb\nc\n", 9) == "a\nb\nc\n");
  CHECK(tail_of("a\nb\nc\n", 0) == "");
  CHECK(tail_of("\n\n\n", 2) == "\n\n");
  CHECK(tail_of("x", 1) == "x");
  CHECK(tail_of("", 1) == "");
  // A window that may start inside a line: only a newline before the last
  // N lines proves where they start.
  CHECK_FALSE(tail_start("b\nc\n", 2));
  CHECK(tail_start("\nb\nc\n", 2) == size_t{1});
  CHECK(tail_start("xb\nc\n", 1) == size_t{3});
}

TEST_CASE("binary content is recognised", "[peek]") {
  CHECK_FALSE(looks_binary("plain text\twith tabs\r\n"));
  CHECK_FALSE(looks_binary("gr\xc3\xbc\xc3\x9f" "e\n"));
  CHECK_FALSE(looks_binary(""));
  CHECK(looks_binary(std::string_view{"a\0b", 3}));
  CHECK(looks_binary("\x1b[31mred\x1b[0m"));
  CHECK(looks_binary("del\x7f"));
  CHECK(looks_binary("c1 \xc2\x9b" "2J"));
  CHECK(looks_binary("bell\a"));
}

TEST_CASE("the peek cap takes sizes with k, M, G", "[peek]") {
  CHECK(parse_peek_cap("65536").value() == 65536);
  CHECK(parse_peek_cap("512k").value() == 512u << 10);
  CHECK(parse_peek_cap("4M").value() == 4u << 20);
  CHECK(parse_peek_cap("256M").value() == max_peek_cap);
  CHECK_FALSE(parse_peek_cap("257M"));
  CHECK_FALSE(parse_peek_cap("1G"));
  CHECK_FALSE(parse_peek_cap("0"));
  CHECK_FALSE(parse_peek_cap(""));
  CHECK_FALSE(parse_peek_cap("-1"));
  CHECK_FALSE(parse_peek_cap("4MB"));
  CHECK_FALSE(parse_peek_cap("99999999999999999999999"));
}

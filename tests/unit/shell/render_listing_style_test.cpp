// ls on a terminal (issue 7 item 6): rows that fit its width, human sizes,
// colours; and the progress line of a long hash (issue 10 item 2).

#include "shell/render.hpp"

#include <string>

#include "protocol/names.hpp"

#include <catch2/catch.hpp>

using namespace dirscope;
using namespace dirscope::shell;

namespace {

protocol::entry file_named(std::string name, uint64_t size) {
  protocol::entry x;
  x.name = std::move(name);
  x.type = protocol::entry_type::file;
  x.mtime_ns = 1'795'507'229'000'000'000;
  x.size = size;
  protocol::sha256_digest d{};
  for (size_t i = 0; i < d.size(); ++i)
    d[i] = static_cast<uint8_t>(i * 7);
  x.sha256 = d;
  return x;
}

/// Terminal columns of a line without its newline ("…" is one column).
size_t columns_of(const std::string& line) {
  size_t n = 0;
  for (auto c : line)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80 && c != '\n')
      ++n;
  return n;
}

} // namespace

TEST_CASE("ls rows fit an 80-column terminal", "[render][ls]") {
  listing_style style;
  style.columns = 80;
  auto name = std::string(16, 'n');
  auto row = render_entry_line(file_named(name, 123456789), style);
  auto header = render_listing_header(style);
  CHECK(columns_of(row) <= 80);
  CHECK(columns_of(header) <= 80);
  // The names line up under NAME.
  CHECK(columns_of(header.substr(0, header.find("NAME")))
        == columns_of(row.substr(0, row.find(name))));
  // The hash is cut and says so; the full row (no width) keeps it whole.
  CHECK_THAT(row, Catch::Contains("\u2026"));
  auto full = render_entry_line(file_named(name, 123456789));
  CHECK(columns_of(full) > 100);
  CHECK_THAT(full, !Catch::Contains("\u2026"));
  // Wide terminals get the whole hash again.
  style.columns = 200;
  CHECK(render_entry_line(file_named(name, 1), style)
        == render_entry_line(file_named(name, 1)));
}

TEST_CASE("ls rows never shrink the hash below 12 columns",
          "[render][ls]") {
  listing_style style;
  style.columns = 20;
  auto row = render_entry_line(file_named("x", 1), style);
  auto hex = protocol::to_hex(*file_named("x", 1).sha256);
  CHECK_THAT(row, Catch::Contains(hex.substr(0, 11) + "\u2026"));
}

TEST_CASE("human sizes read like ls -h", "[render][ls]") {
  CHECK(human_size(0) == "0");
  CHECK(human_size(1023) == "1023");
  CHECK(human_size(1024) == "1.0K");
  CHECK(human_size(1025) == "1.1K");
  CHECK(human_size(1500) == "1.5K");
  CHECK(human_size(4096) == "4.0K");
  CHECK(human_size(10 * 1024) == "10K");
  CHECK(human_size(10 * 1024 + 1) == "11K");
  CHECK(human_size(1024 * 1024 - 1) == "1.0M");
  CHECK(human_size(uint64_t{2} << 30) == "2.0G");
  CHECK(human_size(UINT64_MAX) == "16E");
  listing_style style;
  style.human = true;
  auto row = render_entry_line(file_named("a", uint64_t{2} << 30), style);
  CHECK_THAT(row, Catch::Contains(" 2.0G "));
}

TEST_CASE("ls colours directories and symlinks only when asked",
          "[render][ls]") {
  protocol::entry dir;
  dir.name = "sub";
  dir.type = protocol::entry_type::dir;
  dir.items = 2;
  protocol::entry link;
  link.name = "l";
  link.type = protocol::entry_type::symlink;
  link.target = "sub";
  listing_style style;
  CHECK_THAT(render_entry_line(dir, style), !Catch::Contains("\x1b"));
  style.color = true;
  CHECK_THAT(render_entry_line(dir, style),
             Catch::EndsWith("\x1b[1;34msub\x1b[0m\n"));
  CHECK_THAT(render_entry_line(link, style),
             Catch::EndsWith("\x1b[1;36ml\x1b[0m -> sub\n"));
  CHECK_THAT(render_entry_line(file_named("f", 1), style),
             !Catch::Contains("\x1b"));
}

TEST_CASE("the progress line of a long hash", "[render][progress]") {
  auto line = render_hash_progress("big.iso", uint64_t{1} << 30,
                                   uint64_t{2} << 30, 1.0, 0);
  CHECK_THAT(line, Catch::StartsWith("hashing big.iso: 1.0 GiB / 2.0 GiB"));
  CHECK_THAT(line, Catch::Contains("50%"));
  CHECK_THAT(render_hash_progress("a\nb", 1, 2, 0, 2),
             Catch::StartsWith("hashing a\\x0ab:")
               && Catch::EndsWith("(+2 more)"));
  // A file that grew while hashed never shows more than 100 %.
  CHECK_THAT(render_hash_progress("a", 5, 2, 1.0, 0), Catch::Contains("100%"));
}

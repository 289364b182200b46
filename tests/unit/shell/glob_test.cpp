#include "shell/glob.hpp"

#include <clocale>

#include <catch2/catch.hpp>

using namespace dirscope::shell;

TEST_CASE("a path splits at its first glob", "[shell][glob]") {
  CHECK_FALSE(has_glob("/var/log/a.log"));
  CHECK(has_glob("/var/log/*.log"));
  CHECK(has_glob("/var/?/x"));
  CHECK(has_glob("/a[bc]"));
  auto s = split_glob("/var/log/*.log");
  CHECK(s.base == "/var/log");
  CHECK(s.pattern == "*.log");
  CHECK(s.depth == 1);
  CHECK(s.last == "*.log");
  s = split_glob("/var/*/sub/x.conf");
  CHECK(s.base == "/var");
  CHECK(s.pattern == "*/sub/x.conf");
  CHECK(s.depth == 3);
  CHECK(s.last == "x.conf");
  s = split_glob("/*");
  CHECK(s.base == "/");
  CHECK(s.pattern == "*");
  CHECK(s.depth == 1);
}

TEST_CASE("globs match as a shell's do", "[shell][glob]") {
  CHECK(glob_matches("*.log", "a.log"));
  CHECK_FALSE(glob_matches("*.log", ".hidden.log"));
  CHECK_FALSE(glob_matches("*.log", "sub/a.log"));
  CHECK(glob_matches("*/a.log", "sub/a.log"));
  CHECK(glob_matches("?.log", "b.log"));
  CHECK(glob_matches("[ab].log", "a.log"));
  CHECK_FALSE(glob_matches("[ab].log", "c.log"));
  // Bytes that are not UTF-8 and control characters are just bytes.
  CHECK(glob_matches("caf*.log", "caf\xe9.log"));
  CHECK(glob_matches("new*", "new\nline"));
}

TEST_CASE("globs match bytes under a UTF-8 locale too", "[shell][glob]") {
  auto old = std::string{std::setlocale(LC_CTYPE, nullptr)};
  if (std::setlocale(LC_CTYPE, "C.UTF-8") == nullptr)
    return; // no such locale here: the case above covers C
  CHECK(glob_matches("caf*.log", "caf\xe9.log"));
  CHECK(glob_matches("*", "\xff\xfe"));
  std::setlocale(LC_CTYPE, old.c_str());
}

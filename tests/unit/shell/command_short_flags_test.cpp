// One-letter switches (ls -h, -r, -hr): issue 7 item 6.

#include "shell/command.hpp"

#include <catch2/catch.hpp>

using namespace dirscope::shell;

namespace {

command parsed(std::string_view line) {
  auto cmd = parse_command(line);
  REQUIRE(cmd);
  return *cmd;
}

} // namespace

TEST_CASE("ls takes -h and -r alone or together") {
  auto cmd = parsed("ls -h /docs");
  CHECK(cmd.args == std::vector<std::string>{"/docs"});
  CHECK(cmd.has_flag("human"));
  CHECK_FALSE(cmd.has_flag("reverse"));
  cmd = parsed("ls -rh");
  CHECK(cmd.args.empty());
  CHECK(cmd.has_flag("human"));
  CHECK(cmd.has_flag("reverse"));
  cmd = parsed("ls /docs --sort size -r --no-hash --human");
  CHECK(cmd.has_flag("reverse"));
  CHECK(cmd.has_flag("no-hash"));
  CHECK(cmd.option("sort") == std::optional<std::string>{"size"});
}

TEST_CASE("short flags are arguments after -- or with unknown letters") {
  auto cmd = parsed("ls -- -h");
  CHECK(cmd.args == std::vector<std::string>{"-h"});
  CHECK_FALSE(cmd.has_flag("human"));
  cmd = parsed("ls -hx");
  CHECK(cmd.args == std::vector<std::string>{"-hx"});
  CHECK_FALSE(parse_command("ls -h a b"));
  // Commands without short flags keep taking -h as a name.
  CHECK(parsed("stat -h").args == std::vector<std::string>{"-h"});
}

TEST_CASE("rm, get and put take their one-letter switches from the parser") {
  auto cmd = parsed("rm -ry n1:/tmp/x");
  CHECK(cmd.args == std::vector<std::string>{"n1:/tmp/x"});
  CHECK(cmd.has_flag("recursive"));
  CHECK(cmd.has_flag("yes"));
  cmd = parsed("rm n1:/tmp/x -y");
  CHECK(cmd.has_flag("yes"));
  CHECK_FALSE(cmd.has_flag("recursive"));
  // A file named -r is written after --.
  cmd = parsed("rm -y -- -r");
  CHECK(cmd.args == std::vector<std::string>{"-r"});
  CHECK_FALSE(cmd.has_flag("recursive"));
  CHECK_FALSE(parse_command("rm a b"));
  CHECK_FALSE(parse_command("rm -r"));
  cmd = parsed("get -f n1:/a local");
  CHECK(cmd.args == std::vector<std::string>{"n1:/a", "local"});
  CHECK(cmd.has_flag("force"));
  CHECK_FALSE(parse_command("get n1:/a b c"));
  cmd = parsed("put -ry --resume a.txt n1:/in/");
  CHECK(cmd.args == std::vector<std::string>{"a.txt", "n1:/in/"});
  CHECK(cmd.has_flag("recursive"));
  CHECK(cmd.has_flag("yes"));
  CHECK(cmd.has_flag("resume"));
  CHECK_FALSE(parse_command("put a.txt"));
  CHECK_FALSE(parse_command("put -r a b c"));
}

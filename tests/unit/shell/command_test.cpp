#include "shell/command.hpp"

#include <catch2/catch.hpp>

using namespace dirscope;
using namespace dirscope::shell;

namespace {

std::vector<std::string> words(std::string_view line) {
  auto result = tokenize(line);
  REQUIRE(result.ok());
  return result.value();
}

command parse_ok(std::string_view line) {
  auto result = parse_command(line);
  INFO(line << " -> " << (result ? "" : result.error().message));
  REQUIRE(result.ok());
  return result.value();
}

failure parse_error(std::string_view line) {
  auto result = parse_command(line);
  INFO(line);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == wire_code::bad_request);
  return result.error();
}

using strings = std::vector<std::string>;

} // namespace

// -- tokenize -----------------------------------------------------------------

TEST_CASE("tokenize splits on whitespace") {
  CHECK(words("") == strings{});
  CHECK(words("   \t ") == strings{});
  CHECK(words("ls") == strings{"ls"});
  CHECK(words("  ls   /docs\t--json  ") == strings{"ls", "/docs", "--json"});
}

TEST_CASE("tokenize groups quoted text") {
  CHECK(words(R"(cd "my file")") == strings{"cd", "my file"});
  CHECK(words("cd 'my file'") == strings{"cd", "my file"});
  CHECK(words(R"(a"b c"d)") == strings{"ab cd"});
  CHECK(words(R"(ls "" x)") == strings{"ls", "", "x"});
  CHECK(words("ls ''") == strings{"ls", ""});
  CHECK(words(R"(say "it's")") == strings{"say", "it's"});
  CHECK(words(R"(say '"quoted"')") == strings{"say", "\"quoted\""});
}

TEST_CASE("tokenize handles backslashes") {
  SECTION("escaped space and quotes are literal") {
    CHECK(words(R"(cd my\ file)") == strings{"cd", "my file"});
    CHECK(words(R"(x \"a\")") == strings{"x", "\"a\""});
    CHECK(words(R"(x it\'s)") == strings{"x", "it's"});
    CHECK(words(R"(x "a\"b")") == strings{"x", "a\"b"});
  }
  SECTION("name escapes are kept for unescape_name") {
    CHECK(words(R"(ls caf\xe9)") == strings{"ls", R"(caf\xe9)"});
    CHECK(words(R"(ls "\xff odd")") == strings{"ls", R"(\xff odd)"});
    CHECK(words(R"(ls '\xff')") == strings{"ls", R"(\xff)"});
  }
  SECTION("a backslash pair stays whole and escapes nothing after it") {
    CHECK(words(R"(ls a\\ b)") == strings{"ls", R"(a\\)", "b"});
    CHECK(words(R"(ls "a\\")") == strings{"ls", R"(a\\)"});
  }
  SECTION("a trailing backslash is kept") {
    CHECK(words(R"(ls a\)") == strings{"ls", R"(a\)"});
  }
  SECTION("raw bytes pass through") {
    CHECK(words("ls \xff\xfe") == strings{"ls", "\xff\xfe"});
  }
}

TEST_CASE("tokenize fails on an unterminated quote") {
  for (auto line : {R"(cd "docs)", "cd 'docs", R"(cd "a\")"}) {
    INFO(line);
    auto result = tokenize(line);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == wire_code::bad_request);
    CHECK_THAT(result.error().message, Catch::Contains("unterminated"));
  }
}

// -- command table ------------------------------------------------------------

TEST_CASE("the command table lists every command once") {
  strings names;
  for (auto& spec : command_table())
    names.emplace_back(spec.name);
  CHECK(names
        == strings{"nodes", "use", "pwd", "cd", "ls", "stat", "tree", "find",
                   "du", "rm", "get", "cat", "head", "tail", "put", "broadcast",
                   "kick", "wait-nodes",
                   "echo", "help", "quit"});
  for (auto& spec : command_table()) {
    INFO(spec.name);
    CHECK(find_command(spec.name) == &spec);
    CHECK(spec.usage.substr(0, spec.name.size()) == spec.name);
    CHECK(spec.min_args <= spec.max_args);
    CHECK_FALSE(spec.summary.empty());
    CHECK_FALSE(spec.details.empty());
  }
  CHECK(find_command("exit") == find_command("quit"));
  CHECK(find_command("dir") == nullptr);
  CHECK(find_command("") == nullptr);
}

// -- parse_command ------------------------------------------------------------

TEST_CASE("parse_command accepts an empty line") {
  for (auto line : {"", "   ", "\t"}) {
    auto cmd = parse_ok(line);
    CHECK(cmd.spec == nullptr);
    CHECK(cmd.args.empty());
  }
}

TEST_CASE("parse_command parses every command") {
  SECTION("nodes") {
    auto cmd = parse_ok("nodes");
    CHECK(cmd.spec->name == "nodes");
    CHECK_FALSE(cmd.has_flag("json"));
    CHECK(parse_ok("nodes --json").has_flag("json"));
    auto filtered = parse_ok("nodes web* 'db-?' --match 10.0. --count");
    CHECK(filtered.args == strings{"web*", "db-?"});
    CHECK(filtered.option("match") == "10.0.");
    CHECK(filtered.has_flag("count"));
    parse_error("nodes --match");
    parse_error("nodes --bogus");
  }
  SECTION("use") {
    auto cmd = parse_ok("use n1");
    CHECK(cmd.spec->name == "use");
    CHECK(cmd.args == strings{"n1"});
    parse_error("use");
    parse_error("use a b");
  }
  SECTION("pwd") {
    CHECK(parse_ok("pwd").spec->name == "pwd");
    parse_error("pwd /");
  }
  SECTION("cd") {
    auto cmd = parse_ok("cd n1:/docs");
    CHECK(cmd.spec->name == "cd");
    CHECK(cmd.args == strings{"n1:/docs"});
    CHECK(parse_ok("cd ..").args == strings{".."});
    CHECK(parse_ok("cd -").args == strings{"-"});
    parse_error("cd");
  }
  SECTION("ls") {
    auto cmd = parse_ok("ls");
    CHECK(cmd.spec->name == "ls");
    CHECK(cmd.args.empty());
    cmd = parse_ok("ls /docs --json");
    CHECK(cmd.args == strings{"/docs"});
    CHECK(cmd.has_flag("json"));
    cmd = parse_ok("ls --json /docs");
    CHECK(cmd.args == strings{"/docs"});
    CHECK(cmd.has_flag("json"));
    parse_error("ls a b");
  }
  SECTION("stat") {
    auto cmd = parse_ok("stat a.txt --json");
    CHECK(cmd.spec->name == "stat");
    CHECK(cmd.args == strings{"a.txt"});
    CHECK(cmd.has_flag("json"));
    parse_error("stat");
    parse_error("stat --json");
  }
  SECTION("tree") {
    auto cmd = parse_ok("tree");
    CHECK(cmd.spec->name == "tree");
    CHECK_FALSE(cmd.option("depth"));
    cmd = parse_ok("tree /src --depth 2");
    CHECK(cmd.args == strings{"/src"});
    CHECK(cmd.option("depth") == std::optional<std::string>{"2"});
    cmd = parse_ok("tree --depth=5 /src --json");
    CHECK(cmd.args == strings{"/src"});
    CHECK(cmd.option("depth") == std::optional<std::string>{"5"});
    CHECK(cmd.has_flag("json"));
    cmd = parse_ok("tree --depth 1 --depth=4");
    CHECK(cmd.option("depth") == std::optional<std::string>{"4"});
    CHECK(parse_ok("tree --depth=").option("depth")
          == std::optional<std::string>{""});
  }
  SECTION("kick") {
    auto cmd = parse_ok("kick n1");
    CHECK(cmd.spec->name == "kick");
    CHECK(cmd.args == strings{"n1"});
    parse_error("kick");
  }
  SECTION("wait-nodes") {
    auto cmd = parse_ok("wait-nodes 3");
    CHECK(cmd.spec->name == "wait-nodes");
    CHECK(cmd.args == strings{"3"});
    CHECK_FALSE(cmd.option("timeout"));
    cmd = parse_ok("wait-nodes --timeout 5m 3");
    CHECK(cmd.args == strings{"3"});
    CHECK(cmd.option("timeout") == std::optional<std::string>{"5m"});
    cmd = parse_ok("wait-nodes 3 --timeout=10");
    CHECK(cmd.option("timeout") == std::optional<std::string>{"10"});
    parse_error("wait-nodes");
  }
  SECTION("help") {
    auto cmd = parse_ok("help");
    CHECK(cmd.spec->name == "help");
    CHECK(cmd.args.empty());
    CHECK(parse_ok("help ls").args == strings{"ls"});
    parse_error("help ls cd");
  }
  SECTION("quit and its alias exit") {
    CHECK(parse_ok("quit").spec->name == "quit");
    CHECK(parse_ok("exit").spec->name == "quit");
    parse_error("quit now");
  }
}

TEST_CASE("parse_command keeps quoted and escaped arguments") {
  CHECK(parse_ok(R"(ls "my docs")").args == strings{"my docs"});
  CHECK(parse_ok(R"(cd n1:my\ docs)").args == strings{"n1:my docs"});
  CHECK(parse_ok(R"(stat \xff)").args == strings{R"(\xff)"});
}

TEST_CASE("parse_command treats dashes that are no options as arguments") {
  CHECK(parse_ok("ls -").args == strings{"-"});
  CHECK(parse_ok("ls -x").args == strings{"-x"});
  CHECK(parse_ok("stat -la").args == strings{"-la"});
  SECTION("-- ends the options") {
    auto cmd = parse_ok("ls -- --json");
    CHECK(cmd.args == strings{"--json"});
    CHECK_FALSE(cmd.has_flag("json"));
    cmd = parse_ok("ls --json -- --");
    CHECK(cmd.args == strings{"--"});
    CHECK(cmd.has_flag("json"));
  }
}

TEST_CASE("parse_command rejects unknown commands") {
  auto err = parse_error("frobnicate now");
  CHECK(err.message == "unknown command 'frobnicate' (try 'help')");
  err = parse_error("LS");
  CHECK_THAT(err.message, Catch::Contains("'LS'"));
}

TEST_CASE("parse_command rejects unknown options") {
  auto err = parse_error("ls --foo");
  CHECK(err.message
        == "unknown option --foo for ls; usage: ls [PATH] [-h] [-r] "
              "[--sort name|size|mtime] [--no-hash] [--json]");
  err = parse_error("ls --foo=1 /");
  CHECK_THAT(err.message, Catch::StartsWith("unknown option --foo for ls"));
  err = parse_error("pwd --json");
  CHECK_THAT(err.message, Catch::Contains("usage: pwd"));
  err = parse_error("wait-nodes 3 --depth 2");
  CHECK_THAT(err.message, Catch::Contains("--depth"));
}

TEST_CASE("parse_command checks option values") {
  SECTION("an option without a value") {
    auto err = parse_error("tree --depth");
    CHECK_THAT(err.message, Catch::Contains("--depth needs a value"));
    CHECK_THAT(err.message,
               Catch::Contains("usage: tree [PATH] [--depth N] [--json]"));
    err = parse_error("tree --depth --json");
    CHECK_THAT(err.message, Catch::Contains("--depth needs a value"));
  }
  SECTION("a flag with a value") {
    auto err = parse_error("ls --json=yes");
    CHECK_THAT(err.message, Catch::Contains("--json takes no value"));
  }
}

TEST_CASE("parse_command reports wrong argument counts with the usage") {
  auto err = parse_error("cd");
  CHECK_THAT(err.message, Catch::Contains("usage: cd PATH"));
  err = parse_error("ls a b");
  CHECK_THAT(err.message, Catch::Contains("usage: ls [PATH] [-h] [-r]"));
  err = parse_error("wait-nodes 1 2 --timeout 3");
  CHECK_THAT(err.message,
             Catch::Contains("usage: wait-nodes N [--timeout S]"));
}

TEST_CASE("parse_command fails on an unterminated quote") {
  auto err = parse_error(R"(cd "docs)");
  CHECK_THAT(err.message, Catch::Contains("unterminated"));
}

// -- help ---------------------------------------------------------------------

TEST_CASE("help without a command lists every usage") {
  auto text = help_text(std::nullopt);
  REQUIRE(text.ok());
  for (auto& spec : command_table()) {
    INFO(spec.name);
    CHECK_THAT(*text, Catch::Contains(std::string{spec.usage}));
    CHECK_THAT(*text, Catch::Contains(std::string{spec.summary}));
  }
  CHECK_THAT(*text, Catch::Contains("n1:/docs"));
  CHECK_THAT(*text, Catch::Contains("\\xNN"));
  CHECK(text->back() == '\n');
  size_t pos = 0;
  while (pos < text->size()) {
    auto end = text->find('\n', pos);
    INFO(text->substr(pos, end - pos));
    CHECK(end - pos <= 80);
    pos = end + 1;
  }
}

TEST_CASE("help for each command shows its usage and details") {
  for (auto& spec : command_table()) {
    INFO(spec.name);
    auto text = help_text(spec.name);
    REQUIRE(text.ok());
    CHECK_FALSE(text->empty());
    CHECK_THAT(*text, Catch::StartsWith("usage: " + std::string{spec.usage}));
    CHECK_THAT(*text, Catch::Contains(std::string{spec.details}));
    CHECK(text->back() == '\n');
  }
  auto ls = help_text("ls");
  REQUIRE(ls.ok());
  CHECK_THAT(*ls, Catch::Contains("Examples"));
  CHECK_THAT(*ls, Catch::Contains(".."));
  auto exit = help_text("exit");
  REQUIRE(exit.ok());
  CHECK_THAT(*exit, Catch::StartsWith("usage: quit"));
}

TEST_CASE("help for an unknown command fails") {
  auto text = help_text("frobnicate");
  REQUIRE_FALSE(text.ok());
  CHECK(text.error().code == wire_code::bad_request);
  CHECK_THAT(text.error().message, Catch::Contains("frobnicate"));
}

// -- option values ------------------------------------------------------------

TEST_CASE("parse_count accepts non-negative integers") {
  struct row {
    const char* text;
    uint64_t value;
  };
  for (auto [text, value] : {row{"0", 0}, row{"3", 3}, row{"007", 7},
                             row{"18446744073709551615", UINT64_MAX}}) {
    INFO(text);
    auto result = parse_count("depth", text);
    REQUIRE(result.ok());
    CHECK(*result == value);
  }
}

TEST_CASE("parse_count rejects everything else") {
  for (auto text : {"", "x", "-1", "+1", " 1", "1 ", "1.5", "3x", "0x10",
                    "18446744073709551616"}) {
    INFO(text);
    auto result = parse_count("depth", text);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == wire_code::bad_request);
    CHECK_THAT(result.error().message, Catch::StartsWith("--depth "));
  }
  CHECK(parse_count("depth", "x").error().message
        == "--depth expects a non-negative integer, got 'x'");
  CHECK(parse_count("--depth", "x").error().message
        == "--depth expects a non-negative integer, got 'x'");
}

TEST_CASE("parse_seconds accepts numbers with optional units") {
  struct row {
    const char* text;
    double value;
  };
  for (auto [text, value] :
       {row{"0", 0.0}, row{"30", 30.0}, row{"2.5", 2.5}, row{".5", 0.5},
        row{"30s", 30.0}, row{"5m", 300.0}, row{"1h", 3600.0},
        row{"1.5m", 90.0}, row{"0.25h", 900.0}, row{"1e2", 100.0}}) {
    INFO(text);
    auto result = parse_seconds("timeout", text);
    REQUIRE(result.ok());
    CHECK(*result == Approx(value));
  }
}

TEST_CASE("parse_seconds rejects everything else") {
  for (auto text : {"", "s", "m", "-1", "-0.5s", "nan", "NaN", "inf", "infs",
                    "x", "5d", "5 m", " 5", "5ms", "1e999", "+3", "--"}) {
    INFO(text);
    auto result = parse_seconds("timeout", text);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == wire_code::bad_request);
    CHECK_THAT(result.error().message, Catch::StartsWith("--timeout "));
    CHECK_THAT(result.error().message,
               Catch::EndsWith("got '" + std::string{text} + "'"));
  }
}

TEST_CASE("parse_seconds refuses durations no clock can hold") {
  // 1e12 s used to overflow the nanosecond cast (INT64_MIN: an instant
  // timeout, and undefined behaviour).
  for (auto text : {"1e12", "1e10", "1e300", "3e6h"}) {
    INFO(text);
    auto result = parse_seconds("timeout", text);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code == wire_code::bad_request);
    CHECK(result.error().message
          == "--timeout value too large: '" + std::string{text} + "'");
  }
  CHECK(parse_seconds("timeout", "9e9").ok());
}

TEST_CASE("parse_duration checks the range and converts exactly") {
  using namespace std::chrono;
  auto d = parse_duration("timeout", "2.5");
  REQUIRE(d.ok());
  CHECK(*d == milliseconds{2500});
  d = parse_duration("timeout", "24h");
  REQUIRE(d.ok());
  CHECK(*d == hours{24});
  d = parse_duration("timeout", "0");
  REQUIRE(d.ok());
  CHECK(d->count() == 0);
  for (auto text : {"24.01h", "86401", "1e12", "1e7"}) {
    INFO(text);
    auto bad = parse_duration("timeout", text);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == wire_code::bad_request);
    CHECK_THAT(bad.error().message, Catch::StartsWith("--timeout "));
  }
  CHECK(parse_duration("timeout", "86401").error().message
        == "--timeout must be at most 24h, got '86401'");
  CHECK(parse_duration("timeout", "-1").error().message
        == "--timeout expects a non-negative number of seconds (e.g. 30, "
           "2.5, 30s, 5m, 1h), got '-1'");
  CHECK(parse_duration("timeout", "61", seconds{60}).error().message
        == "--timeout must be at most 1m, got '61'");
}

TEST_CASE("format_duration") {
  using namespace std::chrono;
  CHECK(format_duration(hours{24}) == "24h");
  CHECK(format_duration(minutes{5}) == "5m");
  CHECK(format_duration(seconds{90}) == "90s");
  CHECK(format_duration(milliseconds{250}) == "250ms");
  CHECK(format_duration(nanoseconds{0}) == "0s");
}

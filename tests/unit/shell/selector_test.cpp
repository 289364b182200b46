// Node selectors (issue 7): all, globs, brace lists, one node.

#include "shell/selector.hpp"

#include <catch2/catch.hpp>

#include "shell/command.hpp"
#include "shell/nodes_view.hpp"

using namespace dirscope;
using namespace dirscope::shell;

namespace {

/// The names of `names` that the selector's patterns pick, through the
/// same matcher `nodes GLOB` uses.
std::vector<std::string> picked(const node_selector& sel,
                                const std::vector<std::string>& names) {
  node_query q;
  q.patterns = sel.patterns;
  std::vector<std::string> result;
  for (auto& name : names) {
    node_info x;
    x.name = name;
    if (node_matches(q, x))
      result.push_back(name);
  }
  return result;
}

const std::vector<std::string> fleet{"web1", "web2", "db1", "db2", "all"};

} // namespace

TEST_CASE("one node by name or id stays a single node") {
  for (auto text : {"web1", "3", "n-1.example"}) {
    auto x = parse_selector(text);
    REQUIRE(x);
    CHECK_FALSE(x->many);
    CHECK(x->name == text);
    CHECK(x->patterns.empty());
    CHECK_FALSE(names_many(text));
  }
}

TEST_CASE("all and * select every node") {
  for (auto text : {"all", "*"}) {
    auto x = parse_selector(text);
    REQUIRE(x);
    CHECK(x->many);
    CHECK(picked(*x, fleet) == fleet);
    CHECK(names_many(text));
  }
}

TEST_CASE("a glob selects the names it matches") {
  auto x = parse_selector("web*");
  REQUIRE(x);
  CHECK(x->many);
  CHECK(picked(*x, fleet) == std::vector<std::string>{"web1", "web2"});
  auto y = parse_selector("db?");
  REQUIRE(y);
  CHECK(picked(*y, fleet) == std::vector<std::string>{"db1", "db2"});
  auto z = parse_selector("[wd]*1");
  REQUIRE(z);
  CHECK(picked(*z, fleet) == std::vector<std::string>{"web1", "db1"});
}

TEST_CASE("a brace list selects names and globs") {
  auto x = parse_selector("{web1,db2}");
  REQUIRE(x);
  CHECK(x->many);
  CHECK(x->patterns == std::vector<std::string>{"web1", "db2"});
  CHECK(picked(*x, fleet) == std::vector<std::string>{"web1", "db2"});
  auto y = parse_selector("{db*,web2}");
  REQUIRE(y);
  CHECK(picked(*y, fleet) == std::vector<std::string>{"web2", "db1", "db2"});
  // A node named like the keyword is still reachable.
  auto z = parse_selector("{all}");
  REQUIRE(z);
  CHECK(picked(*z, fleet) == std::vector<std::string>{"all"});
  auto one = parse_selector("{web1}");
  REQUIRE(one);
  CHECK(one->many);
}

TEST_CASE("bad selectors fail with bad_request") {
  for (auto text : {"", "{", "{}", "{a,}", "{,a}", "{a,,b}", "{a", "a}",
                    "{a,{b}}", "x{a,b}"}) {
    INFO(text);
    auto x = parse_selector(text);
    REQUIRE_FALSE(x);
    CHECK(x.error().code == wire_code::bad_request);
    CHECK(x.error().message.find("node selector") != std::string::npos);
    CHECK_FALSE(names_many(text));
  }
}

TEST_CASE("help documents selectors") {
  auto text = help_text(std::nullopt);
  REQUIRE(text.ok());
  CHECK_THAT(*text, Catch::Contains("all:/etc"));
  CHECK_THAT(*text, Catch::Contains("{web1,db2}:/etc"));
  CHECK_THAT(*text, Catch::Contains("answered, 1 failed, 0 timed out"));
  auto use = help_text("use");
  REQUIRE(use.ok());
  CHECK_THAT(*use, Catch::Contains("use web*"));
}

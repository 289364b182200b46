// `nodes` for a fleet (issue 9): filters, states, the summary line and the
// table rendered page by page.

#include "shell/nodes_view.hpp"

#include <catch2/catch.hpp>

#include "protocol/codec.hpp"
#include "shell/render.hpp"

using namespace dirscope;
using namespace dirscope::shell;

namespace {

constexpr int64_t s = 1'000'000'000;

node_info make_node(const std::string& name, const std::string& host,
                    const std::string& address) {
  node_info x;
  x.id = 7;
  x.name = name;
  x.hostname = host;
  x.root = "/srv/" + name;
  x.address = address;
  x.port = 4000;
  x.connected_ns = 1000 * s;
  return x;
}

node_query query(std::vector<std::string> patterns, std::string match = "") {
  node_query q;
  q.patterns = std::move(patterns);
  q.match = std::move(match);
  return q;
}

} // namespace

TEST_CASE("nodes: globs match names", "[nodes][issue9]") {
  auto web = make_node("web-01", "alpha", "10.0.3.7");
  auto db = make_node("db-1", "beta", "10.0.4.1");
  CHECK(node_matches(query({}), web));
  CHECK(node_matches(query({"web*"}), web));
  CHECK_FALSE(node_matches(query({"web*"}), db));
  CHECK(node_matches(query({"web*", "db-?"}), db));
  CHECK_FALSE(node_matches(query({"db-??"}), db));
  CHECK(node_matches(query({"[dw]*"}), db));
  // Names with odd bytes match as shown: escaped, backslash literal.
  auto odd = make_node("caf\xe9", "h", "::1");
  CHECK(node_matches(query({"caf\\xe9"}), odd));
  CHECK(node_matches(query({"caf\\x*"}), odd));
}

TEST_CASE("nodes: --match finds text in any column", "[nodes][issue9]") {
  auto web = make_node("web-01", "Alpha.example", "10.0.3.7");
  CHECK(node_matches(query({}, "WEB"), web));
  CHECK(node_matches(query({}, "alpha"), web));
  CHECK(node_matches(query({}, "10.0.3."), web));
  CHECK(node_matches(query({}, ":4000"), web));
  CHECK(node_matches(query({}, "/srv/web"), web));
  CHECK(node_matches(query({}, "read-only"), web));
  CHECK_FALSE(node_matches(query({}, "10.0.4."), web));
  // Both filters apply.
  CHECK_FALSE(node_matches(query({"db*"}, "alpha"), web));
  CHECK(node_matches(query({"web*"}, "alpha"), web));
}

TEST_CASE("nodes: up within two heartbeat intervals", "[nodes][issue9]") {
  auto x = make_node("a", "h", "::1");
  auto interval = 10 * s;
  CHECK(node_up(x, x.connected_ns + 5 * s, interval));
  CHECK_FALSE(node_up(x, x.connected_ns + 21 * s, interval));
  x.last_heartbeat_ns = x.connected_ns + 15 * s;
  CHECK(node_up(x, x.connected_ns + 21 * s, interval));
  CHECK_FALSE(node_up(x, x.connected_ns + 36 * s, interval));
}

TEST_CASE("nodes: the summary line", "[nodes][issue9]") {
  node_counts c;
  CHECK(render_nodes_summary(c, false) == "no nodes connected\n");
  c.joining = 2;
  CHECK(render_nodes_summary(c, false) == "no nodes connected (2 joining)\n");
  c = node_counts{3, 10, 2, 1, 0};
  CHECK(render_nodes_summary(c, false) == "10 nodes: 2 up, 1 late\n");
  CHECK(render_nodes_summary(c, true)
        == "3 of 10 nodes match: 2 up, 1 late\n");
  c = node_counts{0, 1, 0, 0, 4};
  CHECK(render_nodes_summary(c, true) == "0 of 1 node match: 0 up, 0 late, "
                                         "4 joining\n");
  CHECK(render_nodes_counts_json(node_counts{3, 10, 2, 1, 0})
        == "{\"matching\":3,\"total\":10,\"up\":2,\"late\":1,"
           "\"joining\":0}\n");
}

TEST_CASE("nodes: the table page by page", "[nodes][issue9]") {
  auto a = make_node("a", "h", "10.0.0.1");
  auto b = make_node("b", "h", "10.0.0.2");
  // One page renders as the whole table did.
  nodes_table one;
  CHECK(one.rows({a, b}) == render_nodes({a, b}));
  // Two pages: one header, and the columns line up across them.
  nodes_table two;
  auto text = two.rows({a});
  text += two.rows({b});
  CHECK(text == render_nodes({a, b}));
  nodes_table none;
  CHECK(none.rows({}).empty());
}

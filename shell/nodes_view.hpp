#pragma once

// `nodes` for a fleet: which nodes a query matches, what state each is in,
// and the table rendered page by page.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "shell/node_info.hpp"

namespace dirscope::shell {

/// True if `x` passes the query's name globs and --match text.
bool node_matches(const node_query& q, const node_info& x);

/// True if `x` answered a heartbeat within two intervals of `now_ns`, or
/// joined less than two intervals ago.
bool node_up(const node_info& x, int64_t now_ns, int64_t interval_ns);

/// The `nodes` table, rendered as pages arrive: the header comes with the
/// first rows; columns are as wide as the widest cell seen so far (so a
/// later, wider cell shifts only the rows after it).
class nodes_table {
public:
  /// Rows of one page (with the header before the first ones).
  std::string rows(const std::vector<node_info>& xs);

private:
  std::array<size_t, 7> widths_{};
  bool header_done_ = false;
};

/// The summary line of `nodes`, e.g. "3 nodes: 2 up, 1 late" or "2 of 10
/// nodes match: 2 up, 0 late", plus ", 4 joining" while connections have
/// not said hello.
std::string render_nodes_summary(const node_counts& c, bool filtered);

/// `nodes --count --json`: one object with keys matching, total, up, late,
/// joining.
std::string render_nodes_counts_json(const node_counts& c);

/// `nodes` as one table (a friendly line when empty).
std::string render_nodes(const std::vector<node_info>& nodes);

} // namespace dirscope::shell

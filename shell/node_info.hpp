#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dirscope {

/// What the server knows about one connected node: a row of `nodes`.
struct node_info {
  uint64_t id = 0;          ///< session id, unique per server run
  std::string name;         ///< unique among live nodes
  std::string hostname;     ///< as the node reported it
  std::string root;         ///< raw bytes of the node's root path
  std::string address;      ///< peer IP address
  uint16_t port = 0;        ///< peer TCP port
  int64_t connected_ns = 0; ///< UTC ns since epoch
  int64_t last_heartbeat_ns = 0; ///< last heartbeat_ack (0: none yet)
  uint32_t capabilities = 0;     ///< hello.capabilities (incl. policy)
  std::string tls_peer;          ///< client certificate CN (mutual TLS)

  /// "address:port", with brackets around IPv6 addresses.
  std::string endpoint() const;

  /// What the node's policy allows beyond reading, e.g. "read-only" or
  /// "download,delete".
  std::string policy() const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(x.id, x.name, x.hostname, x.root, x.address, x.port,
           x.connected_ns, x.last_heartbeat_ns, x.capabilities, x.tls_peer);
}

/// What `nodes` asks the supervisor for: one page of the matching nodes,
/// in name order.
struct node_query {
  /// Globs on the name as shown (escaped); a node matches any. Empty: all.
  std::vector<std::string> patterns;
  /// Text that must occur (ASCII case-insensitive) in the name, hostname,
  /// address:port, root, policy or client certificate. Empty: any.
  std::string match;
  /// Rows start after this name (the last one of the previous page).
  std::string after;
  /// Rows at most in this page (0: the counts only).
  uint32_t limit = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_query& x) {
  return f(x.patterns, x.match, x.after, x.limit);
}

/// How many nodes are in which state.
struct node_counts {
  /// Joined nodes that match the query, and all joined nodes.
  uint64_t matching = 0;
  uint64_t total = 0;
  /// Matching nodes that answered within two heartbeat intervals (or
  /// joined less than two intervals ago), and those that did not.
  uint64_t up = 0;
  uint64_t late = 0;
  /// TCP connections that have not completed their hello.
  uint64_t joining = 0;
};

/// One page of `nodes`.
struct node_page {
  std::vector<node_info> rows;
  /// More matching nodes follow the last row.
  bool more = false;
  /// Filled on the first page (empty `after`) only.
  node_counts counts;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_page& x) {
  return f(x.rows, x.more, x.counts.matching, x.counts.total, x.counts.up,
           x.counts.late, x.counts.joining);
}

} // namespace dirscope

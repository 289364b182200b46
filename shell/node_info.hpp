#pragma once

#include <cstdint>
#include <string>

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

} // namespace dirscope

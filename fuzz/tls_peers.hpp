#pragma once

// A server identity generated once per process in a temporary directory,
// and contexts for both ends, for the TLS harness and the seed generator.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tls/context.hpp"
#include "tls/pki.hpp"
#include "tls/session.hpp"

namespace dirscope::fuzz {

struct tls_peers {
  std::shared_ptr<tls::context> server;
  std::shared_ptr<tls::context> client;

  /// Generates the identity (aborts on failure: nothing to fuzz without it).
  static const tls_peers& get() {
    static tls_peers instance = make();
    return instance;
  }

private:
  static tls_peers make() {
    char tmpl[] = "/tmp/dirscope-fuzz-tls-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      std::abort();
    std::string dir = tmpl;
    auto files = tls::ensure_server_identity(dir + "/state", {"fuzz.test"});
    if (!files)
      std::abort();
    tls::server_identity id;
    id.cert_file = files->server_cert;
    id.key_file = files->server_key;
    auto server = tls::context::make_server(id);
    tls::client_trust trust;
    trust.ca_file = files->ca_cert;
    trust.server_name = "fuzz.test";
    auto client = tls::context::make_client(trust);
    if (!server || !client)
      std::abort();
    // The contexts have read every file they need.
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return tls_peers{*server, *client};
  }
};

/// Moves ciphertext from `from` to `to` until neither has more (bounded).
inline void pump(tls::session& a, tls::session& b) {
  std::vector<uint8_t> wire;
  std::vector<uint8_t> plain;
  for (int round = 0; round < 16; ++round) {
    size_t moved = 0;
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      wire.clear();
      from->drain(wire);
      moved += wire.size();
      if (!wire.empty() && !to->failed())
        (void) to->feed(wire.data(), wire.size(), plain);
    }
    if (moved == 0)
      return;
  }
}

} // namespace dirscope::fuzz

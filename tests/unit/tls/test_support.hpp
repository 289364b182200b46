#pragma once

// Shared helpers for the tls/ unit tests: a scratch directory, an identity
// generated into it, and an in-memory "wire" that pumps ciphertext between
// two sessions until neither has anything left to say.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tls/context.hpp"
#include "tls/pki.hpp"
#include "tls/session.hpp"

namespace dirscope::tls::test {

/// A fresh directory under /tmp, removed with everything in it.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

/// One side of a connection: its session, every plaintext byte it
/// received and the failure of its last feed, if any.
struct endpoint {
  std::unique_ptr<session> tls;
  std::vector<uint8_t> received;
  std::optional<failure> error;
};

/// Makes an endpoint from `ctx`; REQUIREs success.
endpoint make_endpoint(std::shared_ptr<context> ctx);

/// Drains `from` and feeds everything to `to`; returns the byte count.
size_t transfer(endpoint& from, endpoint& to);

/// Transfers both ways until no bytes move (bounded; FAILs otherwise).
void pump(endpoint& client, endpoint& server);

/// A server identity for "dirscope.test" in a temp dir, plus shortcuts.
struct pki_fixture {
  pki_fixture();

  std::string state_dir() const {
    return dir.path() + "/state";
  }

  /// A server context presenting the fixture's identity.
  std::shared_ptr<context> server(server_identity id = {});

  /// A client context; REQUIREs success.
  std::shared_ptr<context> client(const client_trust& trust);

  /// A client trusting the fixture's CA for `name`.
  client_trust ca_trust(const std::string& name = "localhost") const;

  temp_dir dir;
  identity_files files;
  std::string fingerprint;
};

/// Bytes of a string literal.
std::vector<uint8_t> bytes_of(const std::string& text);

/// Deterministic pseudo-random bytes.
std::vector<uint8_t> pattern(size_t size, uint32_t seed = 1);

} // namespace dirscope::tls::test

#pragma once

// Turns the TLS and enrollment options into ready objects for the mains.

#include <memory>
#include <string>

#include "actors/config.hpp"
#include "protocol/outcome.hpp"
#include "tls/context.hpp"

namespace dirscope {

/// What the server needs to admit nodes securely.
struct server_security {
  std::shared_ptr<tls::context> tls; ///< nullptr: plain TCP
  std::string fingerprint;           ///< of the server certificate
  std::string cert_file;             ///< the server certificate (PEM)
  std::string key_file;              ///< its private key (PEM)
  std::string ca_file;               ///< the CA nodes may trust
  std::string token;                 ///< empty: no token required
  std::string token_file;            ///< where the token lives, if ours
  bool created = false;              ///< a new identity was generated
};

/// Loads or creates the server's certificate and token per `cfg`.
outcome<server_security> prepare_server_security(const server_config& cfg);

/// Issues a client certificate (--issue-client-cert); returns a message
/// for the operator saying where it went and how to use it.
outcome<std::string> issue_client_certificate(const server_config& cfg);

/// The node's TLS context per `cfg` (nullptr with --tls=false).
outcome<std::shared_ptr<tls::context>>
prepare_client_tls(const client_config& cfg, const std::string& server_host);

} // namespace dirscope

#pragma once

// TLS configuration shared by every connection of one process: an OpenSSL
// SSL_CTX set up for TLS 1.3 only, as a server (certificate, key, optional
// client-certificate CA) or as a client (how to verify the server). Pure:
// no CAF, no sockets. Sessions (session.hpp) are created from a context.

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/outcome.hpp"

struct ssl_ctx_st;

namespace dirscope::tls {

/// What a server presents, and whom it lets in.
struct server_identity {
  /// PEM certificate (chain) file presented to clients.
  std::string cert_file;
  /// PEM private key of `cert_file`.
  std::string key_file;
  /// Non-empty: request client certificates signed by this PEM CA.
  std::string client_ca_file;
  /// Refuse clients without a valid certificate (needs `client_ca_file`).
  bool require_client_cert = false;
};

/// How a client decides to trust the server, and what it presents itself.
/// At least one of `ca_file` and `fingerprint` is required; given both,
/// both must hold.
struct client_trust {
  /// PEM CA file: verify the chain and that the certificate matches
  /// `server_name` (required with a CA file).
  std::string ca_file;
  /// Pin: SHA-256 of the server certificate's DER, hex with or without
  /// colons, any case, optional "sha256:" prefix.
  std::string fingerprint;
  /// DNS name or IP literal: SNI (DNS names only) and the hostname check.
  std::string server_name;
  /// Optional client certificate for mutual TLS.
  std::string cert_file;
  /// Private key of `cert_file`.
  std::string key_file;
};

/// Which end of the handshake a context's sessions play.
enum class role : uint8_t { client, server };

/// Owns one SSL_CTX. Always held by shared_ptr: sessions keep their
/// context alive.
class context {
public:
  /// A SHA-256 digest (certificate fingerprints).
  using digest = std::array<uint8_t, 32>;

  /// Builds a server context. Fails with io_error when a file cannot be
  /// read and bad_request when its content is unusable.
  static outcome<std::shared_ptr<context>>
  make_server(const server_identity& id);

  /// Builds a client context. Fails with bad_request when `trust` gives no
  /// way to verify the server or holds a malformed fingerprint.
  static outcome<std::shared_ptr<context>>
  make_client(const client_trust& trust);

  /// Like make_client, but offers TLS 1.2 up to `max_version` (e.g.
  /// TLS1_2_VERSION) instead of TLS 1.3 only. For tests that show the
  /// server refuses older protocols.
  static outcome<std::shared_ptr<context>>
  make_client_for_testing(const client_trust& trust, int max_version);

  ~context();

  context(const context&) = delete;
  context& operator=(const context&) = delete;

  /// Client or server.
  role side() const noexcept {
    return side_;
  }

  /// The server name of a client context (empty for servers).
  const std::string& server_name() const noexcept {
    return server_name_;
  }

  /// The underlying SSL_CTX (owned by this object).
  ssl_ctx_st* native() const noexcept {
    return ctx_;
  }

  /// Verifies a server certificate chain for a client context: chain and
  /// name when configured, then the pin. Called from OpenSSL's certificate
  /// verification callback; not for direct use.
  int verify_server(void* store_ctx) const;

private:
  context(ssl_ctx_st* ctx, role side);

  static outcome<std::shared_ptr<context>>
  make_client_impl(const client_trust& trust, int max_version);

  ssl_ctx_st* ctx_;
  role side_;
  std::string server_name_;
  bool verify_chain_ = false;
  bool has_pin_ = false;
  digest pin_{};
};

} // namespace dirscope::tls

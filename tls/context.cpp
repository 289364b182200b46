#include "tls/context.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/openssl_util.hpp"
#include "tls/pki.hpp"

namespace dirscope::tls {

namespace {

using ctx_ptr = std::shared_ptr<context>;

failure io_failure(const std::string& what, const std::string& path,
                   int err) {
  return make_failure(wire_code::io_error, "cannot read " + what + " '"
                                             + path
                                             + "': " + std::strerror(err));
}

failure openssl_failure(const std::string& what) {
  return make_failure(wire_code::bad_request,
                      what + ": " + detail::openssl_errors());
}

// Fails early with the OS's reason when a file cannot be opened, so that
// OpenSSL's vaguer errors only ever mean "bad content".
outcome<bool> check_readable(const std::string& what,
                             const std::string& path) {
  auto fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_failure(what, path, errno);
  ::close(fd);
  return true;
}

// Keys are never encrypted here; a passphrase prompt would hang a daemon.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

int verify_server_cb(X509_STORE_CTX* store_ctx, void* arg) {
  return static_cast<const context*>(arg)->verify_server(store_ctx);
}

outcome<bool> load_own_cert(SSL_CTX* ctx, const std::string& cert_file,
                            const std::string& key_file) {
  if (auto ok = check_readable("certificate", cert_file); !ok)
    return ok.error();
  if (auto ok = check_readable("private key", key_file); !ok)
    return ok.error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    return openssl_failure("cannot load certificate '" + cert_file + "'");
  auto mismatch = [&] {
    return openssl_failure("private key '" + key_file
                           + "' does not match certificate '" + cert_file
                           + "'");
  };
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM)
      != 1) {
    auto err = ERR_peek_last_error();
    if (ERR_GET_LIB(err) == ERR_LIB_X509
        && ERR_GET_REASON(err) == X509_R_KEY_VALUES_MISMATCH)
      return mismatch();
    return openssl_failure("cannot load private key '" + key_file + "'");
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    return mismatch();
  return true;
}

} // namespace

context::context(SSL_CTX* ctx, role side) : ctx_(ctx), side_(side) {
  SSL_CTX_set_default_passwd_cb(ctx_, no_passphrase);
}

context::~context() {
  SSL_CTX_free(ctx_);
}

outcome<ctx_ptr> context::make_server(const server_identity& id) {
  if (id.cert_file.empty() || id.key_file.empty())
    return make_failure(wire_code::bad_request,
                        "a TLS server needs a certificate and a key file");
  if (id.require_client_cert && id.client_ca_file.empty())
    return make_failure(wire_code::bad_request,
                        "requiring client certificates needs a client CA "
                        "file");
  ERR_clear_error();
  auto* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr)
    return make_failure(wire_code::internal, "SSL_CTX_new failed: "
                                               + detail::openssl_errors());
  ctx_ptr result{new context(raw, role::server)};
  SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION);
  // Clients never resume: tickets would only be bytes on the wire.
  SSL_CTX_set_num_tickets(raw, 0);
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  // An idle session (a node between heartbeats) holds no record buffers:
  // ~31 KB per connection of a fleet otherwise.
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
  if (auto ok = load_own_cert(raw, id.cert_file, id.key_file); !ok)
    return ok.error();
  if (!id.client_ca_file.empty()) {
    auto& ca = id.client_ca_file;
    if (auto ok = check_readable("client CA file", ca); !ok)
      return ok.error();
    if (SSL_CTX_load_verify_locations(raw, ca.c_str(), nullptr) != 1)
      return openssl_failure("cannot load client CA file '" + ca + "'");
    auto* names = SSL_load_client_CA_file(ca.c_str());
    if (names == nullptr)
      return openssl_failure("cannot load client CA file '" + ca + "'");
    SSL_CTX_set_client_CA_list(raw, names);
    auto mode = SSL_VERIFY_PEER;
    if (id.require_client_cert)
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(raw, mode, nullptr);
  }
  return result;
}

outcome<ctx_ptr> context::make_client(const client_trust& trust) {
  return make_client_impl(trust, TLS1_3_VERSION);
}

outcome<ctx_ptr> context::make_client_for_testing(const client_trust& trust,
                                                  int max_version) {
  return make_client_impl(trust, max_version);
}

outcome<ctx_ptr> context::make_client_impl(const client_trust& trust,
                                           int max_version) {
  if (trust.ca_file.empty() && trust.fingerprint.empty())
    return make_failure(wire_code::bad_request,
                        "no way to verify the server: give a CA file or a "
                        "fingerprint");
  if (!trust.ca_file.empty() && trust.server_name.empty())
    return make_failure(wire_code::bad_request,
                        "verifying the server with a CA file needs the "
                        "server name");
  if (trust.cert_file.empty() != trust.key_file.empty())
    return make_failure(wire_code::bad_request,
                        "a client certificate needs both a certificate and "
                        "a key file");
  digest pin{};
  if (!trust.fingerprint.empty()) {
    auto canonical = normalize_fingerprint(trust.fingerprint);
    if (!canonical)
      return canonical.error();
    // canonical is "xx:xx:...": two hex digits every three characters.
    for (size_t i = 0; i < pin.size(); ++i)
      pin[i] = static_cast<uint8_t>(
        std::stoul(canonical->substr(i * 3, 2), nullptr, 16));
  }
  ERR_clear_error();
  auto* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr)
    return make_failure(wire_code::internal, "SSL_CTX_new failed: "
                                               + detail::openssl_errors());
  ctx_ptr result{new context(raw, role::client)};
  if (max_version == TLS1_3_VERSION) {
    SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION);
  } else {
    SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  }
  SSL_CTX_set_max_proto_version(raw, max_version);
  result->server_name_ = trust.server_name;
  result->has_pin_ = !trust.fingerprint.empty();
  result->pin_ = pin;
  if (!trust.ca_file.empty()) {
    auto& ca = trust.ca_file;
    if (auto ok = check_readable("CA file", ca); !ok)
      return ok.error();
    if (SSL_CTX_load_verify_locations(raw, ca.c_str(), nullptr) != 1)
      return openssl_failure("cannot load CA file '" + ca + "'");
    auto* param = SSL_CTX_get0_param(raw);
    X509_VERIFY_PARAM_set_hostflags(param,
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    auto& name = trust.server_name;
    auto ok = detail::is_ip_literal(name)
                ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                : X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    if (ok != 1)
      return openssl_failure("invalid server name '" + name + "'");
    result->verify_chain_ = true;
  }
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(raw, verify_server_cb, result.get());
  if (!trust.cert_file.empty()) {
    if (auto ok = load_own_cert(raw, trust.cert_file, trust.key_file); !ok)
      return ok.error();
  }
  return result;
}

int context::verify_server(void* store_ctx) const {
  auto* sctx = static_cast<X509_STORE_CTX*>(store_ctx);
  if (verify_chain_ && X509_verify_cert(sctx) != 1)
    return 0;
  if (!has_pin_)
    return 1;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  auto* leaf = X509_STORE_CTX_get0_cert(sctx);
  auto matches = leaf != nullptr
                 && X509_digest(leaf, EVP_sha256(), md, &len) == 1
                 && len == pin_.size()
                 && CRYPTO_memcmp(md, pin_.data(), pin_.size()) == 0;
  if (matches)
    return 1;
  X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
  // The session stores a std::string for this note as the SSL's app data.
  auto idx = SSL_get_ex_data_X509_STORE_CTX_idx();
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(sctx, idx));
  if (ssl != nullptr) {
    if (auto* note = static_cast<std::string*>(SSL_get_app_data(ssl))) {
      auto got = len == pin_.size() ? detail::hex_with_colons(md, len)
                                    : std::string{"nothing"};
      *note = "server certificate fingerprint mismatch: expected "
              + detail::hex_with_colons(pin_.data(), pin_.size()) + ", got "
              + got;
    }
  }
  return 0;
}

} // namespace dirscope::tls

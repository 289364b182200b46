#pragma once

// Internal helpers shared by the tls/ sources: RAII for OpenSSL objects,
// error strings and fingerprint formatting. Not part of the public API.

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace dirscope::tls::detail {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* ptr) const noexcept {
    Free(ptr);
  }
};

using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using pkey_ptr
  = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;

/// Drains OpenSSL's (thread-local) error queue into one line; returns
/// `fallback` when the queue is empty.
std::string openssl_errors(const char* fallback = "unknown OpenSSL error");

/// Lowercase hex with colons ("ab:cd:..") of `size` bytes.
std::string hex_with_colons(const unsigned char* data, size_t size);

/// SHA-256 of the certificate's DER in hex_with_colons form; empty on
/// error.
std::string fingerprint_of(X509* cert);

/// The first commonName of the subject as UTF-8; empty if none.
std::string common_name_of(X509* cert);

/// True if OpenSSL parses `name` as an IPv4 or IPv6 literal.
bool is_ip_literal(const std::string& name);

/// Reads a whole file into `out`; returns errno (0 on success).
int read_file(const std::string& path, std::string& out);

} // namespace dirscope::tls::detail

#include "tls/session.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "protocol/byte_buffer_growth.hpp"
#include "tls/openssl_util.hpp"

namespace dirscope::tls {

namespace {

constexpr size_t read_chunk = 16u << 10;

constexpr const char* not_tls = "peer does not speak TLS (plaintext peer?)";

// Record content types a TLS peer may open with: handshake, or an alert
// (a server refusing our ClientHello).
constexpr uint8_t record_handshake = 0x16;
constexpr uint8_t record_alert = 0x15;

// Alerts a peer sends when it does not accept our certificate.
bool is_certificate_alert(int alert) {
  switch (alert) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
      return true;
    default:
      return false;
  }
}

/// Grows a plaintext buffer; a byte_buffer without its vector's byte-wise
/// move.
void grow_to(std::vector<uint8_t>& buf, size_t n) {
  buf.resize(n);
}

void grow_to(protocol::byte_buffer& buf, size_t n) {
  protocol::resize_uninit(buf, n);
}

} // namespace

bool looks_like_tls(const uint8_t* data, size_t size) noexcept {
  if (size == 0 || data[0] != record_handshake)
    return false;
  return size < 2 || data[1] == 0x03;
}

// -- the session's BIO ---------------------------------------------------------

/// OpenSSL's view of a session's transport: reads come from the bytes being
/// fed (in place), writes append to the session's output vector. Replaces a
/// pair of memory BIOs, which copied every received byte once more (and
/// zero-filled, moved and cleansed their buffers on the way).
struct session_bio {
  static session* self(BIO* bio) {
    return static_cast<session*>(BIO_get_data(bio));
  }

  static int read_ex(BIO* bio, char* out, size_t size, size_t* n) {
    BIO_clear_retry_flags(bio);
    *n = self(bio)->bio_read(reinterpret_cast<uint8_t*>(out), size);
    if (*n > 0)
      return 1;
    // Nothing more fed: "retry later", never end of file.
    BIO_set_retry_read(bio);
    return 0;
  }

  static int write_ex(BIO* bio, const char* data, size_t size, size_t* n) {
    BIO_clear_retry_flags(bio);
    try {
      self(bio)->bio_write(reinterpret_cast<const uint8_t*>(data), size);
    } catch (const std::bad_alloc&) {
      *n = 0;
      return 0;
    }
    *n = size;
    return 1;
  }

  static long ctrl(BIO* bio, int cmd, long, void*) {
    switch (cmd) {
      case BIO_CTRL_PENDING:
        return static_cast<long>(self(bio)->bio_pending());
      case BIO_CTRL_WPENDING:
        return static_cast<long>(self(bio)->bio_wpending());
      case BIO_CTRL_FLUSH:
        return 1;
      default:
        return 0;
    }
  }

  /// The method, made once (thread-safe static initialisation); nullptr if
  /// OpenSSL cannot allocate it.
  static const BIO_METHOD* method() {
    static BIO_METHOD* result = [] {
      auto index = BIO_get_new_index();
      auto* m = BIO_meth_new((index > 0 ? index : 0) | BIO_TYPE_SOURCE_SINK,
                             "dirscope session");
      if (m == nullptr)
        return m;
      BIO_meth_set_read_ex(m, read_ex);
      BIO_meth_set_write_ex(m, write_ex);
      BIO_meth_set_ctrl(m, ctrl);
      return m;
    }();
    return result;
  }
};

size_t session::bio_read(uint8_t* out, size_t size) noexcept {
  if (stash_pos_ < stash_.size()) {
    auto n = std::min(size, stash_.size() - stash_pos_);
    std::memcpy(out, stash_.data() + stash_pos_, n);
    stash_pos_ += n;
    if (stash_pos_ == stash_.size()) {
      stash_.clear();
      stash_pos_ = 0;
    }
    return n;
  }
  auto n = std::min(size, in_size_);
  if (n > 0) {
    std::memcpy(out, in_, n);
    in_ += n;
    in_size_ -= n;
  }
  return n;
}

void session::bio_write(const uint8_t* data, size_t size) {
  auto first = reinterpret_cast<const char*>(data);
  out_.insert(out_.end(), first, first + size);
}

// -- session -------------------------------------------------------------------

session::session(std::shared_ptr<context> ctx) : ctx_(std::move(ctx)) {
  // nop
}

session::~session() {
  SSL_free(ssl_); // also frees the BIO
}

outcome<std::unique_ptr<session>>
session::make(std::shared_ptr<context> ctx) {
  if (!ctx)
    return make_failure(wire_code::bad_request, "TLS session without context");
  ERR_clear_error();
  std::unique_ptr<session> self{new session(std::move(ctx))};
  self->ssl_ = SSL_new(self->ctx_->native());
  if (self->ssl_ == nullptr)
    return make_failure(wire_code::internal,
                        "SSL_new failed: " + detail::openssl_errors());
  auto* method = session_bio::method();
  auto* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr)
    return make_failure(wire_code::internal,
                        "BIO_new failed: " + detail::openssl_errors());
  BIO_set_data(bio, self.get());
  BIO_set_init(bio, 1);
  // One BIO for both directions: SSL_set_bio takes one reference.
  SSL_set_bio(self->ssl_, bio, bio);
  SSL_set_app_data(self->ssl_, &self->verify_note_);
  if (!self->is_client()) {
    SSL_set_accept_state(self->ssl_);
    return self;
  }
  SSL_set_connect_state(self->ssl_);
  auto& name = self->ctx_->server_name();
  if (!name.empty() && !detail::is_ip_literal(name)
      && SSL_set_tlsext_host_name(self->ssl_, name.c_str()) != 1)
    return make_failure(wire_code::bad_request,
                        "invalid server name '" + name
                          + "': " + detail::openssl_errors());
  std::vector<uint8_t> none;
  if (auto res = self->advance(none); !res)
    return res.error();
  return self;
}

template <class Buffer>
outcome<bool> session::feed_impl(const uint8_t* data, size_t size,
                                 Buffer& plaintext) {
  if (failed_)
    return error_;
  if (peer_closed_ || size == 0)
    return established_;
  for (size_t i = 0; head_size_ < 2 && i < size; ++i)
    head_[head_size_++] = data[i];
  if ((head_[0] != record_handshake && head_[0] != record_alert)
      || (head_size_ == 2 && head_[1] != 0x03))
    return fail_with(make_failure(wire_code::protocol_error, not_tls));
  ERR_clear_error();
  in_ = data;
  in_size_ = size;
  auto result = advance(plaintext);
  // OpenSSL reads until it wants more, so this stays empty unless it
  // stopped early; then the rest goes first next time.
  if (in_size_ > 0 && !failed_ && !peer_closed_) {
    stash_.erase(stash_.begin(),
                 stash_.begin() + static_cast<ptrdiff_t>(stash_pos_));
    stash_pos_ = 0;
    stash_.insert(stash_.end(), in_, in_ + in_size_);
  }
  in_ = nullptr;
  in_size_ = 0;
  return result;
}

outcome<bool> session::feed(const uint8_t* data, size_t size,
                            std::vector<uint8_t>& plaintext) {
  return feed_impl(data, size, plaintext);
}

outcome<bool> session::feed(const uint8_t* data, size_t size,
                            protocol::byte_buffer& plaintext) {
  return feed_impl(data, size, plaintext);
}

template <class Buffer>
outcome<bool> session::advance(Buffer& plaintext) {
  if (!established_) {
    auto res = SSL_do_handshake(ssl_);
    if (res != 1) {
      auto err = SSL_get_error(ssl_, res);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        return false;
      return fail(err);
    }
    established_ = true;
    if (!queued_.empty()) {
      std::vector<uint8_t> queued;
      queued.swap(queued_);
      if (auto res = encrypt(queued.data(), queued.size()); !res)
        return res;
    }
  }
  // Plaintext is never longer than the ciphertext it came from: grow once
  // for everything buffered (the buffer does not zero-fill), decrypt into
  // it, trim once at the end. Sizing by what is buffered alone made a get
  // 1.3x slower (bench/RESULTS.md); an idle connection's buffer is freed
  // by consume_bytes instead (issue 9).
  auto used = plaintext.size();
  auto finish = [&plaintext, &used] { plaintext.resize(used); };
  for (;;) {
    if (plaintext.size() - used < read_chunk)
      grow_to(plaintext, used + read_chunk + bio_pending()
                           + static_cast<size_t>(SSL_pending(ssl_)));
    size_t n = 0;
    auto res = SSL_read_ex(ssl_, plaintext.data() + used,
                           plaintext.size() - used, &n);
    if (res == 1) {
      used += n;
      continue;
    }
    finish();
    auto err = SSL_get_error(ssl_, res);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
      return true;
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      return true;
    }
    return fail(err);
  }
}

outcome<bool> session::write(const uint8_t* data, size_t size) {
  if (failed_)
    return error_;
  if (closed_)
    return make_failure(wire_code::protocol_error,
                        "write on a closed TLS session");
  if (!established_) {
    queued_.insert(queued_.end(), data, data + size);
    return false;
  }
  return encrypt(data, size);
}

outcome<bool> session::encrypt(const uint8_t* data, size_t size) {
  ERR_clear_error();
  while (size > 0) {
    size_t n = 0;
    auto res = SSL_write_ex(ssl_, data, size, &n);
    if (res != 1)
      return fail(SSL_get_error(ssl_, res));
    data += n;
    size -= n;
  }
  return true;
}

void session::drain(std::vector<uint8_t>& out) {
  out.insert(out.end(), out_.begin(), out_.end());
  out_.clear();
}

void session::drain(std::vector<char>& out) {
  if (out.empty())
    out.swap(out_);
  else
    out.insert(out.end(), out_.begin(), out_.end());
  out_.clear();
}

bool session::has_output() const noexcept {
  return !out_.empty();
}

void session::close() {
  if (closed_)
    return;
  closed_ = true;
  queued_.clear();
  if (failed_ || !established_)
    return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string session::peer_fingerprint() const {
  detail::x509_ptr cert{SSL_get1_peer_certificate(ssl_)};
  return detail::fingerprint_of(cert.get());
}

std::string session::peer_common_name() const {
  detail::x509_ptr cert{SSL_get1_peer_certificate(ssl_)};
  return detail::common_name_of(cert.get());
}

std::string session::protocol_version() const {
  if (!established_)
    return {};
  return SSL_get_version(ssl_);
}

failure session::fail_with(failure err) {
  failed_ = true;
  error_ = std::move(err);
  queued_.clear();
  ERR_clear_error();
  return error_;
}

failure session::fail(int ssl_error) {
  auto code = wire_code::protocol_error;
  std::string msg;
  auto peer = is_client() ? std::string{"server"} : std::string{"client"};
  auto packed = ERR_peek_error();
  auto reason = ERR_GET_LIB(packed) == ERR_LIB_SSL ? ERR_GET_REASON(packed)
                                                   : 0;
  if (!verify_note_.empty()) {
    msg = verify_note_;
  } else if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    msg = "peer closed the TLS connection during the handshake";
  } else if (ssl_error != SSL_ERROR_SSL) {
    msg = "TLS error " + std::to_string(ssl_error) + ": "
          + detail::openssl_errors();
  } else {
    switch (reason) {
      case SSL_R_CERTIFICATE_VERIFY_FAILED: {
        auto result = SSL_get_verify_result(ssl_);
        msg = peer + " certificate verification failed: "
              + X509_verify_cert_error_string(result);
        if (result == X509_V_ERR_HOSTNAME_MISMATCH
            || result == X509_V_ERR_IP_ADDRESS_MISMATCH)
          msg += " (certificate is not valid for '" + ctx_->server_name()
                 + "')";
        else if (result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                 || result == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                 || result == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
          msg += " (not issued by the trusted CA)";
        break;
      }
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        msg = "client presented no certificate, but this server requires "
              "one";
        break;
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        msg = "server requires a client certificate (mutual TLS), but none "
              "was given";
        break;
      case SSL_R_UNSUPPORTED_PROTOCOL:
        code = wire_code::version_mismatch;
        msg = peer + " does not support TLS 1.3";
        break;
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        code = wire_code::version_mismatch;
        msg = peer + " refused the TLS version offered (dirscope needs TLS "
                     "1.3 on both sides)";
        break;
      case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
        msg = "TLS record failed authentication (corrupted or tampered "
              "data)";
        break;
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST:
        msg = not_tls;
        break;
      default:
        if (reason >= SSL_AD_REASON_OFFSET) {
          auto alert = reason - SSL_AD_REASON_OFFSET;
          std::string what = SSL_alert_desc_string_long(alert);
          if (is_certificate_alert(alert))
            msg = peer + " rejected our certificate: " + what;
          else if (!established_)
            msg = peer + " rejected the TLS handshake: " + what;
          else
            msg = peer + " sent a fatal TLS alert: " + what;
        } else {
          msg = std::string{established_ ? "TLS error: "
                                         : "TLS handshake failed: "}
                + detail::openssl_errors();
        }
    }
  }
  return fail_with(make_failure(code, std::move(msg)));
}

} // namespace dirscope::tls

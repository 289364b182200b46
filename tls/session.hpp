#pragma once

// One TLS connection without I/O ("sans-I/O"): the owner feeds ciphertext
// received from the socket, gets plaintext back, and drains ciphertext to
// write to the socket. OpenSSL runs over a BIO of our own that reads the
// bytes being fed in place and appends records to a vector that drain()
// hands over, so nothing here blocks or touches a socket, and no byte is
// copied through an OpenSSL memory BIO.
//
// Driving it, for a broker:
//   - after make(), after every feed(), write() and close(), and after a
//     failure: drain() and write out whatever it returned (handshake
//     records, application records, alerts, close_notify);
//   - feed() hands back plaintext as it is decrypted, in arbitrary pieces:
//     frame on the plaintext, never on ciphertext;
//   - write() before the handshake completes is queued and encrypted once
//     it does;
//   - after a failure the session is dead: drain (to send the alert), then
//     close the socket.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/byte_buffer.hpp"
#include "protocol/outcome.hpp"
#include "tls/context.hpp"

struct ssl_st;

namespace dirscope::tls {

/// Returns true if `data` starts like a TLS record carrying a handshake
/// (0x16, then major version 0x03). Needs at least one byte; checks the
/// second only if present. A plaintext dirscope peer starts with a 4-byte
/// big-endian frame length, i.e. with 0x00.
bool looks_like_tls(const uint8_t* data, size_t size) noexcept;

/// One TLS connection, client or server (the context decides).
class session {
public:
  /// Creates a session. A client starts its handshake at once: drain()
  /// right after make() yields the ClientHello.
  static outcome<std::unique_ptr<session>> make(std::shared_ptr<context> ctx);

  ~session();

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Feeds ciphertext from the peer and appends any decrypted application
  /// data to `plaintext`. Returns established() on success. Returns a
  /// failure on any fatal TLS error (a peer that does not speak TLS,
  /// certificate verification, an alert, a malformed or tampered record, an
  /// unsupported protocol version); from then on the session is dead and
  /// every call returns that failure again. Drain afterwards either way.
  outcome<bool> feed(const uint8_t* data, size_t size,
                     std::vector<uint8_t>& plaintext);

  /// As above, into a buffer that grows without zero-filling (a frame
  /// decoder's input).
  outcome<bool> feed(const uint8_t* data, size_t size,
                     protocol::byte_buffer& plaintext);

  /// Queues application data. Returns true if it was encrypted right away,
  /// false if it waits for the handshake to complete. Fails after a
  /// failure or after close().
  outcome<bool> write(const uint8_t* data, size_t size);

  /// Appends every pending ciphertext byte to `out`.
  void drain(std::vector<uint8_t>& out);

  /// Appends every pending ciphertext byte to `out` (a broker's write
  /// buffer). An empty `out` swaps buffers with the session: no copy.
  void drain(std::vector<char>& out);

  /// True if drain() would append something.
  bool has_output() const noexcept;

  /// Sends close_notify (if the handshake completed) and refuses further
  /// writes. Data still queued for a handshake in progress is dropped.
  void close();

  /// The handshake completed (and the peer was verified).
  bool established() const noexcept {
    return established_;
  }

  /// The peer sent close_notify.
  bool peer_closed() const noexcept {
    return peer_closed_;
  }

  /// A fatal error occurred; see error().
  bool failed() const noexcept {
    return failed_;
  }

  /// The failure that killed the session (meaningful if failed()).
  const failure& error() const noexcept {
    return error_;
  }

  /// True for a client session.
  bool is_client() const noexcept {
    return ctx_->side() == role::client;
  }

  /// SHA-256 of the peer certificate's DER, lowercase hex with colons;
  /// empty if the peer presented none.
  std::string peer_fingerprint() const;

  /// The commonName of the peer certificate; empty if none.
  std::string peer_common_name() const;

  /// The negotiated protocol ("TLSv1.3"); empty before establishment.
  std::string protocol_version() const;

private:
  // The BIO's callbacks (tls/session.cpp) call the bio_* members.
  friend struct session_bio;

  explicit session(std::shared_ptr<context> ctx);

  /// Gives OpenSSL up to `size` bytes of the input being fed; 0 if none.
  size_t bio_read(uint8_t* out, size_t size) noexcept;

  /// Takes a TLS record (or part of one) OpenSSL wants sent.
  void bio_write(const uint8_t* data, size_t size);

  /// Input bytes fed and not yet read by OpenSSL.
  size_t bio_pending() const noexcept {
    return stash_.size() - stash_pos_ + in_size_;
  }

  /// Output bytes not yet drained.
  size_t bio_wpending() const noexcept {
    return out_.size();
  }

  template <class Buffer>
  outcome<bool> feed_impl(const uint8_t* data, size_t size, Buffer& plaintext);

  // Runs the handshake and reads records until OpenSSL wants more input.
  template <class Buffer>
  outcome<bool> advance(Buffer& plaintext);

  // Encrypts application data (handshake complete).
  outcome<bool> encrypt(const uint8_t* data, size_t size);

  // Marks the session dead, turning OpenSSL's state into a message.
  failure fail(int ssl_error);

  failure fail_with(failure err);

  std::shared_ptr<context> ctx_;
  ssl_st* ssl_ = nullptr;
  bool established_ = false;
  bool peer_closed_ = false;
  bool failed_ = false;
  bool closed_ = false;
  // The first two bytes received, to recognise a peer not speaking TLS.
  uint8_t head_[2] = {0, 0};
  size_t head_size_ = 0;
  failure error_;
  std::vector<uint8_t> queued_;
  // The input of the current feed(), read by OpenSSL in place.
  const uint8_t* in_ = nullptr;
  size_t in_size_ = 0;
  // Input OpenSSL left unread after a feed() (not expected: it reads until
  // it wants more); read before the next feed's bytes.
  std::vector<uint8_t> stash_;
  size_t stash_pos_ = 0;
  // Ciphertext to write to the socket, appended by OpenSSL.
  std::vector<char> out_;
  // Set by the certificate verification callback (via SSL app data).
  std::string verify_note_;
};

} // namespace dirscope::tls

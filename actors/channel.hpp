#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/outcome.hpp"
#include "tls/session.hpp"

namespace dirscope {

/// The byte layer under a connection broker's frames: plain TCP, or a TLS
/// session that the broker feeds ciphertext and drains ciphertext from.
/// Framing and protocol code only ever see plaintext.
class channel {
public:
  /// Plain TCP: bytes pass through.
  channel() = default;

  /// TLS through `session`.
  explicit channel(std::unique_ptr<tls::session> session);

  channel(channel&&) noexcept = default;
  channel& operator=(channel&&) noexcept = default;

  /// Bytes from the socket; appends what they carry to `plain`. Fails on a
  /// TLS error, or when the first bytes show the peer speaks the other
  /// transport (then wrong_transport() says so).
  outcome<bool> receive(const char* data, size_t size,
                        protocol::byte_buffer& plain);

  /// Plaintext for the peer (queued until a TLS handshake completes).
  outcome<bool> send(const std::vector<uint8_t>& plain);

  /// Appends everything there is to write to the socket.
  void drain(std::vector<char>& out);

  /// Ends our side of the stream: a TLS session queues its close_notify
  /// (after everything sent before), plain TCP has nothing to say. Sends
  /// fail afterwards; calling it again does nothing. Drain afterwards, or
  /// call wire_io's close_channel(), which does both.
  void close();

  /// True after close().
  bool closed() const noexcept {
    return closed_;
  }

  /// The peer ended its side of a TLS session (close_notify): nothing more
  /// will come, close the connection. (Plain TCP shows its end as a closed
  /// socket instead.)
  bool peer_closed() const noexcept {
    return session_ && session_->peer_closed();
  }

  bool secure() const noexcept {
    return session_ != nullptr;
  }

  /// True once bytes can flow: always for plain TCP.
  bool established() const noexcept {
    return !session_ || session_->established();
  }

  /// The first bytes came from a peer of the other transport (a plaintext
  /// client on a TLS port or a TLS client on a plaintext port).
  bool wrong_transport() const noexcept {
    return wrong_transport_;
  }

  /// The TLS session, if any.
  const tls::session* session() const noexcept {
    return session_.get();
  }

private:
  std::unique_ptr<tls::session> session_;
  /// Plain TCP: bytes sent and not yet drained.
  std::vector<char> pending_;
  bool seen_bytes_ = false;
  bool wrong_transport_ = false;
  bool closed_ = false;
};

} // namespace dirscope

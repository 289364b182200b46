#include "actors/channel.hpp"

#include "protocol/byte_buffer_growth.hpp"

namespace dirscope {

channel::channel(std::unique_ptr<tls::session> session)
  : session_(std::move(session)) {
  // nop
}

outcome<bool> channel::receive(const char* data, size_t size,
                               protocol::byte_buffer& plain) {
  auto bytes = reinterpret_cast<const uint8_t*>(data);
  if (!seen_bytes_ && size > 0) {
    seen_bytes_ = true;
    // Only the server side judges the first bytes: a client hears from the
    // server only after it spoke first.
    bool server_side = !session_ || !session_->is_client();
    bool tls_bytes = tls::looks_like_tls(bytes, size);
    if (server_side && session_ && !tls_bytes) {
      wrong_transport_ = true;
      return make_failure(wire_code::protocol_error,
                          "a plaintext client on a TLS port");
    }
    if (server_side && !session_ && tls_bytes) {
      wrong_transport_ = true;
      return make_failure(wire_code::protocol_error,
                          "a TLS client on a plaintext port");
    }
  }
  if (!session_) {
    protocol::append(plain, bytes, size);
    return true;
  }
  return session_->feed(bytes, size, plain);
}

outcome<bool> channel::send(const std::vector<uint8_t>& plain) {
  if (closed_)
    return make_failure(wire_code::io_error, "send on a closed channel");
  if (!session_) {
    auto first = reinterpret_cast<const char*>(plain.data());
    pending_.insert(pending_.end(), first, first + plain.size());
    return true;
  }
  return session_->write(plain.data(), plain.size());
}

void channel::drain(std::vector<char>& out) {
  if (session_) {
    session_->drain(out);
    return;
  }
  if (out.empty())
    out.swap(pending_);
  else
    out.insert(out.end(), pending_.begin(), pending_.end());
  pending_.clear();
}

void channel::close() {
  closed_ = true;
  if (session_)
    session_->close();
}

} // namespace dirscope

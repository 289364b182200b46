#include "actors/server/listener.hpp"

#include <cerrno>

#include <caf/actor_cast.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/network/acceptor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/send.hpp>
#include <sys/socket.h>

#include "actors/type_ids.hpp"

namespace dirscope {

namespace {

namespace net = caf::io::network;

class guarded_doorman;

/// caf::policy::tcp's accept, except for what happens when it fails.
struct guarded_accept {
  guarded_doorman* owner;

  /// Returns true with `result` invalid when nothing was accepted; CAF's
  /// acceptor then waits for the next readiness event.
  bool try_accept(net::native_socket& result, net::native_socket fd);
};

/// caf::io::network::doorman_impl with guarded_accept as its policy.
class guarded_doorman : public caf::io::doorman {
public:
  guarded_doorman(net::default_multiplexer& mpx, net::native_socket fd)
    : doorman(net::accept_hdl_from_socket(fd)),
      acceptor_(mpx, fd, guarded_accept{this}) {
    // nop
  }

  bool new_connection() override {
    if (detached())
      return false;
    auto& mpx = acceptor_.backend();
    auto sptr = mpx.new_scribe(acceptor_.accepted_socket());
    auto hdl = sptr->hdl();
    parent()->add_scribe(std::move(sptr));
    return doorman::new_connection(&mpx, hdl);
  }

  void graceful_shutdown() override {
    acceptor_.graceful_shutdown();
    detach(&acceptor_.backend(), false);
  }

  void launch() override {
    acceptor_.start(this);
  }

  std::string addr() const override {
    auto x = net::local_addr_of_fd(acceptor_.fd());
    return x ? std::move(*x) : std::string{};
  }

  uint16_t port() const override {
    auto x = net::local_port_of_fd(acceptor_.fd());
    return x ? *x : uint16_t{0};
  }

  void add_to_loop() override {
    acceptor_.activate(this);
  }

  void remove_from_loop() override {
    acceptor_.passivate();
  }

  /// accept() failed for want of descriptors. The listen socket stays
  /// readable, so staying in the loop would spin: leave it at once, and
  /// let the broker decide when to try again.
  void out_of_descriptors(int err) {
    halt();
    if (!detached())
      caf::anon_send(caf::actor_cast<caf::actor>(parent()), atom::wait_v,
                     err);
  }

private:
  net::acceptor_impl<guarded_accept> acceptor_;
};

bool guarded_accept::try_accept(net::native_socket& result,
                                net::native_socket fd) {
  result = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (result != net::invalid_native_socket)
    return true;
  auto err = errno;
  switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      owner->out_of_descriptors(err);
      break;
    default:
      // EAGAIN, EINTR, or an error of the one connection in the queue
      // (ECONNABORTED, network errors): that connection is gone, the next
      // readiness event brings the next one.
      break;
  }
  return true;
}

} // namespace

caf::expected<caf::io::doorman_ptr>
open_listener(caf::io::network::multiplexer& backend, uint16_t port,
              const char* addr, bool reuse_addr) {
  auto* mpx = dynamic_cast<net::default_multiplexer*>(&backend);
  if (mpx == nullptr)
    return backend.new_tcp_doorman(port, addr, reuse_addr);
  auto fd = net::new_tcp_acceptor_impl(port, addr, reuse_addr);
  if (!fd)
    return std::move(fd.error());
  return caf::io::doorman_ptr{
    caf::make_counted<guarded_doorman>(*mpx, *fd)};
}

} // namespace dirscope

#pragma once

#include <cstdint>

#include <caf/expected.hpp>
#include <caf/io/doorman.hpp>
#include <caf/io/network/multiplexer.hpp>

namespace dirscope {

/// Opens the TCP port nodes connect to. With the real network backend the
/// doorman survives running out of file descriptors: where CAF's own
/// doorman ignores EMFILE and the multiplexer calls accept() in a busy loop,
/// this one leaves the loop (halts) and tells its broker with
/// `(atom::wait, int errno)`; the broker resumes it with `trigger`. With
/// any other backend (the test multiplexer) it is the backend's doorman.
caf::expected<caf::io::doorman_ptr>
open_listener(caf::io::network::multiplexer& backend, uint16_t port,
              const char* addr, bool reuse_addr);

} // namespace dirscope

#pragma once

#include <cstdio>
#include <string>

namespace dirscope {

/// The node's one place for output meant for the person at the node's
/// terminal (notices, echo answers): complete lines on stdout, flushed.
/// Diagnostics go through spdlog instead.
inline void print_for_operator(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

} // namespace dirscope

#pragma once

// Test hooks for confine.cpp. Not for production code.

namespace dirscope::node {

/// Makes open_beneath use the openat() walk even where openat2 works, so
/// tests can cover both modes on one kernel. Pass false to restore.
void force_openat_fallback_for_testing(bool enabled) noexcept;

} // namespace dirscope::node

#pragma once

// Root confinement: every file a node touches is opened beneath its root
// directory fd. Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) where
// the kernel has it (Linux >= 5.6) and otherwise walks the path component by
// component with openat(O_NOFOLLOW), refusing any symlink on the way.

#include <string>
#include <string_view>

#include "node/unique_fd.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::node {

/// Opens the node's root directory.
outcome<unique_fd> open_root(const std::string& dir);

/// Opens the normalized node path `path` beneath `root_fd` with `flags`
/// (O_CLOEXEC is always added). Symlinks inside the tree that stay inside
/// resolve; anything that would leave the root fails with outside_root.
outcome<unique_fd> open_beneath(int root_fd, std::string_view path, int flags);

/// Turns an errno value into a failure with a message naming `what`.
failure errno_failure(int err, std::string_view what);

/// True when open_beneath uses openat2 on this kernel (for tests and logs).
bool has_openat2() noexcept;

} // namespace dirscope::node

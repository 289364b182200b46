#pragma once

// Operations on whole files and trees beneath the root: size (du) and
// delete (rm). Both walk with directory fds (openat / fstatat / unlinkat
// with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW): a symlink is counted or removed
// itself, never followed, and nothing outside the root is touched.

#include <cstdint>
#include <string_view>

#include "protocol/messages.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::node {

/// Deepest directory nesting du and rm walk into (each level holds an fd).
constexpr size_t max_walk_depth = 256;

/// What du reports about a path.
struct usage {
  protocol::entry_type type = protocol::entry_type::other;
  uint64_t bytes = 0; ///< sum of st_size of regular files (file: its size)
  uint64_t files = 0; ///< non-directories beneath (file: 1)
  uint64_t dirs = 0;  ///< directories beneath, the target not included
};

/// Measures the entry at the normalized node path `path` beneath `root_fd`.
/// Entries that cannot be read inside a tree fail the whole walk.
outcome<usage> disk_usage(int root_fd, std::string_view path);

/// Deletes the entry at `path` beneath `root_fd`: a file, symlink or other
/// entry directly; a directory only with `recursive` (then everything in
/// it first). The root itself is never deleted. Returns how many entries
/// were removed. On failure part of a tree may already be gone.
outcome<uint64_t> remove_beneath(int root_fd, std::string_view path,
                                 bool recursive);

} // namespace dirscope::node

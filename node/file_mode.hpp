#pragma once

// Modes of the files a node creates: never special bits, never more than
// the node's umask allows.

#include <sys/types.h>

namespace dirscope::node {

/// The node process's umask, read once from /proc/self/status ("Umask:")
/// on first use. Not umask(0) + umask(old): that would clear the mask for
/// a moment under every other thread of the node (and two such readers at
/// once can lose it for good). Without the field (Linux < 4.7) it is 077,
/// the strictest.
mode_t process_umask() noexcept;

/// Parses the "Umask:" line of a /proc/<pid>/status text; 077 when absent.
mode_t parse_status_umask(const char* status) noexcept;

/// The permissions to give an extracted entry that asked for `perm`:
/// setuid, setgid and sticky bits dropped, `umask` applied.
constexpr mode_t extracted_mode(mode_t perm, mode_t umask) noexcept {
  return perm & 0777 & ~umask;
}

} // namespace dirscope::node

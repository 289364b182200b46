#pragma once

// Partial files a broken transfer keeps for `--resume`, and the empty
// directories a failed transfer must not leave behind.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/unique_fd.hpp"
#include "protocol/messages.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::node {

/// What a partial file was cut from: a resume against another source
/// (other size or mtime) starts over instead of splicing two files.
struct source_identity {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

/// Prefix of every partial file's name.
constexpr std::string_view partial_prefix = ".dirscope-partial-";

/// The name under which a broken transfer of `source` to `name` keeps its
/// bytes, next to the target: ".dirscope-partial-SIZE-MTIME_NS-NAME" (NAME
/// replaced by its SHA-256 in hex where the result would exceed NAME_MAX).
std::string partial_name(std::string_view name, const source_identity& source);

/// The source `entry` was cut from, if it is a partial file for target
/// `name`.
std::optional<source_identity> partial_source(std::string_view entry,
                                              std::string_view name);

/// True if `entry` is a partial file for target `name`, of any source.
inline bool is_partial_of(std::string_view entry, std::string_view name) {
  return partial_source(entry, name).has_value();
}

/// The partial file for target `name` in `dir_fd` (the first found, any
/// source), if there is one.
std::optional<std::string> find_partial(int dir_fd, std::string_view name);

/// Removes every partial file for `name` in `dir_fd` except `keep`
/// (superseded: the source changed). Returns how many went.
size_t remove_stale_partials(int dir_fd, std::string_view name,
                             std::string_view keep);

/// Directories a transfer created on its way to the target, removed again
/// (deepest first, only while empty) when the transfer fails, so a refused
/// `get` leaves nothing behind.
class created_dirs {
public:
  /// Records that `name` was created in `parent_fd` (-1 or AT_FDCWD: a
  /// path relative to the working directory).
  void add(int parent_fd, std::string name);

  /// Removes the recorded directories that are still empty, deepest first.
  void rollback() noexcept;

  bool empty() const noexcept {
    return dirs_.empty();
  }

private:
  std::vector<std::pair<unique_fd, std::string>> dirs_;
  std::vector<bool> at_cwd_;
};

} // namespace dirscope::node

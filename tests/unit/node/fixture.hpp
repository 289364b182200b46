#pragma once

// Shared helpers for the node/ unit tests: a scratch directory tree under
// /tmp that is removed again, and small file-system shortcuts.

#include <string>
#include <string_view>
#include <vector>

#include "node/listing.hpp"
#include "node/unique_fd.hpp"
#include "protocol/messages.hpp"

namespace dirscope::node::test {

/// A fresh directory under /tmp, removed with everything in it (whatever
/// its permissions) on destruction. Holds the node root at `root()` and
/// room outside the root at `outside()`.
class temp_tree {
public:
  temp_tree();
  ~temp_tree();

  temp_tree(const temp_tree&) = delete;
  temp_tree& operator=(const temp_tree&) = delete;

  /// The scratch directory (parent of the root).
  const std::string& base() const {
    return base_;
  }

  /// The node's root directory, base() + "/root".
  std::string root() const {
    return base_ + "/root";
  }

  /// Absolute host path of node path `rel` ("/a/b") inside the root.
  std::string at(std::string_view rel) const;

  /// Absolute host path of `name` next to the root (outside it).
  std::string outside(std::string_view name) const;

  /// An fd on the root, opened with open_root.
  int root_fd();

private:
  std::string base_;
  unique_fd root_fd_;
};

/// Writes `content` to `path`, replacing the file.
void write_file(const std::string& path, std::string_view content);

/// Creates a directory (mode 0755).
void make_dir(const std::string& path);

/// Creates a symlink at `path` holding `target`.
void make_symlink(const std::string& target, const std::string& path);

/// Returns the lowercase hex form of a digest.
std::string hex(const protocol::sha256_digest& digest);

/// Reads everything a cursor returns, in small batches.
std::vector<protocol::entry> drain(dir_cursor& cursor, size_t max_entries = 7,
                                   bool with_hashes = false,
                                   hash_cache* cache = nullptr);

/// Returns the entry named `name` or nullptr.
const protocol::entry* find_entry(const std::vector<protocol::entry>& xs,
                                  std::string_view name);

/// Sets the fallback mode of open_beneath for one scope.
class fallback_mode {
public:
  explicit fallback_mode(bool forced);
  ~fallback_mode();
};

} // namespace dirscope::node::test

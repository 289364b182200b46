#pragma once

// Globs in remote paths (ls web1:/var/log/*.log): which part of a path is
// a pattern and what matches it. The node walks (find frames); the server
// decides what matched, so a node's looser match can only narrow.

#include <string>
#include <string_view>

namespace dirscope::shell {

/// True if raw path `path` holds a glob character (*, ? or [).
bool has_glob(std::string_view path);

/// A normalized absolute path split at its first component with a glob.
struct glob_split {
  /// The directory the walk starts from (no glob in it).
  std::string base;
  /// The rest, relative to `base`: "*.log", "*/x.conf".
  std::string pattern;
  /// Components in `pattern`: the depth of every match.
  size_t depth = 0;
  /// The pattern's last component (the node matches names with it).
  std::string last;
};

glob_split split_glob(std::string_view path);

/// Whether relative path `rel` matches `pattern` as a shell glob: '*' and
/// '?' never match '/', a leading '.' only literally.
bool glob_matches(const std::string& pattern, const std::string& rel);

} // namespace dirscope::shell

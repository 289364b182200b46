#pragma once

// Directory trees as a tar.gz stream (libarchive), packed and unpacked
// incrementally so that memory stays bounded whatever the tree's size.
// Packing walks with directory fds beneath the tree (openat, O_NOFOLLOW):
// symlinks are stored as links and never followed. Unpacking refuses
// absolute names, '..' components, hard links, devices and any entry that
// would pass through a symlink, and fills a fresh temporary directory that
// appears under its final name only when everything is in place.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "node/file_mode.hpp"
#include "node/unique_fd.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::node {

/// Produces the tar.gz stream of one directory tree, piece by piece.
class tree_packer {
public:
  /// Packs the directory open as `dir`; `shown` names it in messages.
  static outcome<std::unique_ptr<tree_packer>> open(unique_fd dir,
                                                    std::string shown);

  ~tree_packer();

  /// Appends at most `max` bytes of the stream to `out` (which it clears
  /// first); returns true once the stream is complete and `out` holds its
  /// last bytes (possibly none).
  outcome<bool> next(std::string& out, size_t max,
                     const std::atomic<bool>* stop = nullptr);

  struct impl;

private:
  explicit tree_packer(std::unique_ptr<impl> x);
  std::unique_ptr<impl> impl_;
};

/// Unpacks a tar.gz stream into a temporary directory next to its target.
/// Runs libarchive's reader on a thread of its own fed by feed() (bounded
/// queue): feed() may block while the thread catches up.
class tree_unpacker {
public:
  /// Prepares the new directory `name` in `dir` (already_exists if the name
  /// exists); `shown` names it in messages; `id` tags the temporary name
  /// ".dirscope-upload-<id>-<random>"; modes obey `umask`.
  static outcome<std::unique_ptr<tree_unpacker>>
  create(unique_fd dir, std::string name, std::string shown, uint64_t id,
         mode_t umask = process_umask());

  /// Removes the temporary directory unless place() succeeded.
  ~tree_unpacker();

  /// Hands the next bytes of the stream to the extraction; returns the
  /// bytes fed so far.
  outcome<uint64_t> feed(std::string_view data);

  /// End of stream: waits until every entry is extracted;
  /// returns how many there were.
  outcome<uint64_t> finish();

  /// Moves the finished tree under its final name (never replacing); with
  /// `durable` the tree is on disk before it gets its name, and the name
  /// after (a crash never leaves a named tree with empty files).
  outcome<uint64_t> place(bool durable = true);

  /// Name of the temporary directory (for tests).
  const std::string& temp_name() const noexcept;

  struct impl;

private:
  explicit tree_unpacker(std::unique_ptr<impl> x);
  std::unique_ptr<impl> impl_;
};

/// Extracts a whole tar.gz held in memory into the directory `dir` (which
/// should be empty) on the calling thread, with the rules of
/// tree_unpacker but no temporary name: on failure part of the tree may
/// be there. Returns the number of entries. For tests and fuzzing.
outcome<uint64_t> extract_tree(int dir, std::string_view tar_gz,
                               mode_t umask = process_umask());

} // namespace dirscope::node

#pragma once

// Whole-file transfers: a reader that streams a regular file in chunks while
// hashing it, and a writer that fills a temporary file and moves it into
// place only once size and SHA-256 match. Used by nodes (beneath their
// root) and by the server (its download directory, the operator's files).

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/partial.hpp"
#include "node/unique_fd.hpp"
#include "protocol/messages.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::node {

/// One piece of a file read by file_reader. The last one has `end` set,
/// no data, and the file's size and SHA-256.
struct file_chunk {
  uint64_t offset = 0;
  std::string data;
  bool end = false;
  uint64_t size = 0;
  protocol::sha256_digest sha256{};
};

/// Reads a regular file front to back in chunks of at most
/// protocol::max_data_chunk bytes (see limit_chunks), hashing everything; fails if the file
/// changes while it is read (identity, size, mtime, ctime before and after).
class file_reader {
public:
  /// Opens the normalized node path `path` beneath `root_fd`; chunks start at
  /// `offset` (the hash still covers the whole file).
  static outcome<std::shared_ptr<file_reader>>
  open_beneath(int root_fd, std::string_view path, uint64_t offset = 0);

  /// Opens a local file by its plain path (the server's own files); chunks
  /// start at `offset` (the hash still covers the whole file).
  static outcome<std::shared_ptr<file_reader>>
  open_local(const std::string& path, uint64_t offset = 0);

  /// Streams the directory at node path `path` beneath `root_fd` as tar.gz
  /// (see node/archive.hpp); size() is 0, the stream's length being known
  /// only at its end, which carries its size and SHA-256 as for a file.
  static outcome<std::shared_ptr<file_reader>>
  open_tree_beneath(int root_fd, std::string_view path);

  /// Streams a local directory (the server's own) as tar.gz.
  static outcome<std::shared_ptr<file_reader>>
  open_tree_local(const std::string& path);

  ~file_reader();

  /// Size of the file when it was opened.
  uint64_t size() const noexcept;

  /// Permission bits (st_mode & 07777) of the file when it was opened.
  uint32_t mode() const noexcept;

  /// Modification time of the file when it was opened (UTC ns).
  int64_t mtime_ns() const noexcept;

  /// Makes every later chunk at most `max_bytes` long (clamped to
  /// 1..protocol::max_large_chunk), e.g. to fit the peer's frame limit or
  /// what it negotiated (large_chunks).
  void limit_chunks(size_t max_bytes) noexcept;

  /// The next chunk; gives up with cancelled once `*stop` is true.
  outcome<file_chunk> next(const std::atomic<bool>* stop = nullptr);

  /// Reads and hashes the file's first `offset` bytes now and returns
  /// their SHA-256; chunks then start at `offset` and the end's hash still
  /// covers the whole file. A resume compares it with the prefix its peer
  /// holds and goes on with this reader: the prefix is read once. Only
  /// before the first chunk (bad_request beyond the size; io_error if the
  /// file is shorter now; cancelled once `*stop` is true).
  outcome<protocol::sha256_digest>
  hash_prefix(uint64_t offset, const std::atomic<bool>* stop = nullptr);

  struct impl;

private:
  explicit file_reader(std::unique_ptr<impl> x);
  std::unique_ptr<impl> impl_;
};

/// Creates a file that appears under its final name only when complete:
/// an unnamed O_TMPFILE in the target directory, or where the file system
/// lacks it an exclusively created ".dirscope-upload-<id>-<random>". Once
/// the source is known (set_source), a writer abandoned before its commit
/// (lost connection, write error; the caller discard()s on a cancel) keeps
/// what it wrote as
/// partial_name(name, source) for a later resume(); otherwise, and after a
/// size or SHA-256 mismatch, the destructor removes the temporary file.
/// commit() gives the file the source's permission bits (never setuid,
/// setgid or sticky, within the umask; 0644 & ~umask without a source) and
/// mtime, and fsyncs it before and its directory after publishing it.
class file_writer {
public:
  /// Prepares `name` in directory `dir`; `shown` names it in messages.
  /// Fails with already_exists if `name` exists and `replace` is false.
  static outcome<std::shared_ptr<file_writer>>
  create(unique_fd dir, std::string name, std::string shown, bool replace,
         uint64_t id);

  /// Prepares the new directory `name` in `dir`, filled from a tar.gz
  /// stream (see tree_unpacker): write() feeds it, commit() checks size and
  /// SHA-256 of the stream, waits for the extraction and renames the
  /// temporary directory into place (never replacing anything).
  static outcome<std::shared_ptr<file_writer>>
  create_tree(unique_fd dir, std::string name, std::string shown,
              uint64_t id);

  /// Removes the temporary file unless commit() succeeded, or keeps it as
  /// a partial file (see the class comment).
  ~file_writer();

  /// The source's size, permission bits and mtime: applied at commit, and
  /// the identity a kept partial file is named by.
  void set_source(uint64_t size, uint32_t mode, int64_t mtime_ns);

  /// Continues the partial file kept for this target and source, removing
  /// partial files of other sources; returns the bytes it holds (0: none,
  /// start over). Without set_source it takes whichever partial file there
  /// is for the target and its source becomes source(); the caller must
  /// then compare that with the real source before writing. The first
  /// write (or the commit) says how much to keep: its offset must be at
  /// most what is held; the rest is cut off and the kept prefix hashed, so
  /// commit still checks the whole file's SHA-256.
  outcome<uint64_t> resume();

  /// The source set or adopted by resume().
  std::optional<source_identity> source() const;

  /// True if resume() adopted a partial file.
  bool resumed() const noexcept;

  /// Forget the partial file: the destructor removes it.
  void discard() noexcept;

  /// Appends `data`, which must start at `offset` == bytes written so far.
  outcome<uint64_t> write(uint64_t offset, std::string_view data);

  /// Checks `size` and `sha256` against what was written, then moves the
  /// file into place (never over an existing file unless `replace`).
  outcome<uint64_t> commit(uint64_t size, const protocol::sha256_digest&
                                            sha256);

  /// Bytes written so far.
  uint64_t written() const noexcept;

  /// True when the temporary file is unnamed (O_TMPFILE).
  bool unnamed() const noexcept;

  struct impl;

private:
  explicit file_writer(std::unique_ptr<impl> x);
  std::unique_ptr<impl> impl_;
};

using file_reader_ptr = std::shared_ptr<file_reader>;
using file_writer_ptr = std::shared_ptr<file_writer>;

/// Creates (mkdirat, mode 0755) and opens each of `components` in turn
/// beneath `base_fd`, never following a symlink; returns the last one
/// (`base_fd` duplicated when `components` is empty). Records the
/// directories it created in `created`, if given.
outcome<unique_fd> make_dirs_beneath(int base_fd,
                                     const std::vector<std::string>&
                                       components,
                                     created_dirs* created = nullptr);

/// Opens the parent directory of node path `path` beneath `root_fd` for a
/// new file named by its last component; fails with already_exists if that
/// name exists (links not followed). With `tree`, the new entry is a
/// directory unpacked from a tar.gz stream.
outcome<std::shared_ptr<file_writer>>
create_beneath(int root_fd, std::string_view path, uint64_t id,
               bool tree = false);

/// For tests: forces the named temporary file even where O_TMPFILE works.
void force_named_temp_files(bool on) noexcept;

} // namespace dirscope::node

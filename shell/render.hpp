#pragma once

// The one place where results become text for people or scripts. Every
// function returns complete lines (ending in '\n') so the console can write
// them in one go.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/messages.hpp"
#include "protocol/outcome.hpp"
#include "shell/node_info.hpp"

namespace dirscope::shell {

/// "2026-11-24T08:00:29" in the server's local time zone.
std::string format_local_time(int64_t ns_since_epoch);

/// RFC 3339 with offset, e.g. "2026-11-24T09:00:29+01:00" (local zone).
std::string format_rfc3339(int64_t ns_since_epoch);

/// How `ls` rows look. The default is the full row, for pipes and scripts.
struct listing_style {
  /// Sizes as people read them ("4.0K", "1.5G") instead of bytes.
  bool human = false;
  /// Terminal width: rows shorten the SHA-256 column (to at least 12
  /// characters, ending in "…") so that a row with a name of up to 16
  /// columns fits. 0: no limit.
  size_t columns = 0;
  /// ANSI colours for the names of directories (bold blue) and symlinks
  /// (bold cyan).
  bool color = false;
};

/// Header line for `ls` text output.
std::string render_listing_header(const listing_style& style = {});

/// One `ls` row: type, mtime, size, then ITEMS for a dir, the 64-hex
/// SHA256 for a file or the entry's error in brackets, and last the name
/// (escaped; symlinks "name -> target").
std::string render_entry_line(const protocol::entry& x,
                              const listing_style& style = {});

/// A size as `ls -h` shows it: "512", "4.0K", "12K", "1.5M" (powers of
/// 1024, rounded up).
std::string human_size(uint64_t n);

/// The progress line of a long hash (no newline): "hashing NAME: " and
/// what render_progress shows, plus "(+N more)" when others run too.
std::string render_hash_progress(std::string_view name, uint64_t hashed,
                                 uint64_t size, double seconds, size_t more);

/// One JSON object line with keys node, path, name, type, mtime, size and
/// items / sha256 / target, plus error when present. `dir` is the listed
/// directory (for stat: the parent of the entry).
std::string render_entry_json(std::string_view node, std::string_view dir,
                              const protocol::entry& x);

/// `stat` as "key: value" lines.
std::string render_stat(std::string_view node, std::string_view path,
                        const protocol::entry& x);

/// One `tree` line, indented by depth with box-drawing guides.
/// `last` says whether this entry is the last among its siblings at each
/// level from the top (size == depth + 1).
std::string render_tree_line(const std::vector<bool>& last,
                             const protocol::entry& x);

/// `nodes --json`: one JSON object per node with keys id, name, hostname,
/// root, address, port, connected_since, last_heartbeat.
std::string render_nodes_json(const std::vector<node_info>& nodes);

/// Footer after a tree, e.g. "2 directories, 1 other entry".
std::string render_tree_footer(uint64_t dirs, uint64_t others);

/// A byte count for people: "1234 bytes", plus "(1.2 MiB)" from 1 KiB up.
std::string format_bytes(uint64_t n);

/// `du`: "n1:/docs: 13 bytes in 4 files and 2 directories" (a directory)
/// or "n1:/a.txt: file, 1234 bytes".
std::string render_du(std::string_view shown, const protocol::du_reply& x);

/// What `rm` is about to delete, e.g. "n1:/a.txt is a file of 3 bytes";
/// for a directory its item count and that it needs -r (when not given).
std::string render_remove_target(std::string_view shown,
                                 const protocol::du_reply& x, bool recursive);

/// After `rm`: "deleted n1:/a.txt (1 entry)".
std::string render_removed(std::string_view shown, uint64_t entries);

/// A line a node's operator typed: "[n1] text" (escaped).
std::string render_echo(std::string_view node, std::string_view text);

/// A failure for people: "error: <message> (<code>)".
std::string render_failure(const failure& x);

/// The one-line progress of a transfer (no newline): bytes done of total,
/// rate and estimated time left after `seconds`.
std::string render_progress(uint64_t done, uint64_t total, double seconds);

/// "got n1:/a -> server_data/n1/a (N bytes)".
std::string render_got(std::string_view from, std::string_view to,
                       uint64_t bytes, double seconds);

/// "put ./a -> n1:/a (N bytes)".
std::string render_put(std::string_view from, std::string_view to,
                       uint64_t bytes, double seconds);

/// Footer after a listing, e.g. "3 entries" (+ note when unsorted).
std::string render_listing_footer(uint64_t total, bool sorted);

} // namespace dirscope::shell

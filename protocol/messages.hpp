#pragma once

// The wire messages of the dirscope protocol (see PROTOCOL.md). Plain
// aggregates; codec.hpp turns them into frames and back.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/wire_code.hpp"

namespace dirscope::protocol {

/// Protocol version spoken by this build. Peers must agree exactly.
constexpr uint16_t version = 1;

/// First four bytes of every hello body: "DSCP".
constexpr uint32_t magic = 0x44534350;

/// Frames larger than this are never accepted, whatever is configured.
constexpr uint32_t absolute_max_frame = 16u << 20;

/// Default maximum frame size (configurable down to min_frame_limit).
constexpr uint32_t default_max_frame = 1u << 20;

/// Smallest maximum frame size that still fits every message kind.
constexpr uint32_t min_frame_limit = 64u << 10;

/// Size of the length prefix in front of every frame body.
constexpr size_t frame_header_size = 4;

/// Capability bits announced in the hello.
namespace capability {
constexpr uint32_t list = 1u << 0;
constexpr uint32_t stat = 1u << 1;
constexpr uint32_t hash = 1u << 2;
/// Node policy: the operator may fetch files from this node.
constexpr uint32_t download = 1u << 3;
/// Node policy: the operator may create files on this node.
constexpr uint32_t upload = 1u << 4;
/// Node policy: the operator may delete files on this node.
constexpr uint32_t remove = 1u << 5;
/// The node understands transfer_meta and transfer_resume (file_meta
/// frames, kept partial files); the server sets those flags only then.
constexpr uint32_t file_meta = 1u << 6;
/// The node understands a welcome that carries `features` (PROTOCOL.md).
constexpr uint32_t features = 1u << 7;
/// The node walks trees itself: find_request (find, tree).
constexpr uint32_t find = 1u << 8;
/// The node understands list_flags::late_rows and sends hash_progress to a
/// server whose welcome.features has server_feature::hash_progress.
constexpr uint32_t hash_progress = 1u << 9;
/// The node sends and accepts data_chunk frames of up to max_large_chunk
/// bytes with a server whose welcome.features has
/// server_feature::large_chunks (its own frame limit allows them).
constexpr uint32_t large_chunks = 1u << 10;
} // namespace capability

/// What a server accepts beyond protocol version 1's base, in
/// welcome.features (sent only to nodes with capability::features).
namespace server_feature {
/// The server accepts list_progress frames.
constexpr uint32_t list_progress = 1u << 0;
/// The server accepts hash_progress frames (same bit as the node's
/// capability::hash_progress).
constexpr uint32_t hash_progress = 1u << 9;
/// The server sends and accepts data_chunk frames of up to max_large_chunk
/// bytes (same bit as capability::large_chunks; only to nodes that have
/// it).
constexpr uint32_t large_chunks = 1u << 10;
} // namespace server_feature

/// Flags of a list request.
namespace list_flags {
/// Compute SHA-256 for regular files.
constexpr uint8_t with_hashes = 1u << 0;
/// A row whose hash takes long may come after rows that follow it in name
/// order (only to nodes with capability::hash_progress).
constexpr uint8_t late_rows = 1u << 1;
} // namespace list_flags

enum class entry_type : uint8_t { file = 0, dir = 1, symlink = 2, other = 3 };

/// An error attached to one entry (the listing itself succeeded).
struct entry_error {
  wire_code code = wire_code::internal;
  std::string message;
};

using sha256_digest = std::array<uint8_t, 32>;

/// One directory entry as the node reports it. `name` holds the raw bytes
/// of the file name (not necessarily UTF-8).
struct entry {
  std::string name;
  entry_type type = entry_type::other;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  std::optional<uint64_t> items;       ///< directories
  std::optional<sha256_digest> sha256; ///< regular files
  std::optional<std::string> target;   ///< symlinks (raw bytes)
  std::optional<entry_error> error;    ///< what could not be read
};

// -- handshake ----------------------------------------------------------------

/// Client -> server, first frame of every connection.
struct hello {
  uint16_t version = protocol::version;
  std::string node_name;
  std::string hostname;
  std::string root; ///< raw bytes of the node's root on its own machine
  uint32_t capabilities = 0;
  std::string token; ///< enrollment token (empty: none)
};

/// Server -> client: the node is in.
struct welcome {
  uint64_t session_id = 0;
  int64_t server_time_ns = 0; ///< UTC, nanoseconds since the epoch
  uint32_t heartbeat_ms = 0;  ///< server heartbeat interval
  uint32_t max_frame = 0;     ///< largest frame the server accepts
  /// server_feature bits; on the wire only for nodes that announced
  /// capability::features in their hello (older nodes refuse the field).
  std::optional<uint32_t> features = std::nullopt;
};

/// Server -> client: the node is not admitted; the server then closes.
struct reject {
  wire_code code = wire_code::internal;
  std::string reason;
};

// -- liveness -----------------------------------------------------------------

/// Server -> client every heartbeat interval, carrying the server's clock.
struct heartbeat {
  uint64_t seq = 0;
  int64_t server_time_ns = 0;
};

/// Client -> server, answering a heartbeat.
struct heartbeat_ack {
  uint64_t seq = 0;
};

/// Either direction: the sender closes the connection after this frame.
struct goodbye {
  wire_code code = wire_code::ok;
  std::string reason;
};

// -- requests (server -> client) ----------------------------------------------

/// List the directory at `path` (normalized, see paths.hpp).
struct list_request {
  uint32_t id = 0;
  std::string path;
  uint8_t flags = 0;
};

/// Describe the single entry at `path`.
struct stat_request {
  uint32_t id = 0;
  std::string path;
};

/// Flow control: the server consumed one entries_chunk of request `id`.
struct chunk_ack {
  uint32_t id = 0;
};

/// Stop working on request `id`; the client answers request_failed(cancelled)
/// unless it already finished.
struct cancel {
  uint32_t id = 0;
};

// -- replies (client -> server) -----------------------------------------------

/// Part of a listing. A client keeps at most `window` chunks unacknowledged.
struct entries_chunk {
  uint32_t id = 0;
  std::vector<entry> entries;
};

/// Final frame of a successful listing.
struct list_end {
  uint32_t id = 0;
  uint64_t total = 0; ///< number of entries sent
  bool sorted = true; ///< false if the directory was too large to sort
};

/// Reply to a stat_request.
struct stat_reply {
  uint32_t id = 0;
  entry item;
};

/// Final frame of a failed request.
struct request_failed {
  uint32_t id = 0;
  wire_code code = wire_code::internal;
  std::string message;
};

// -- file operations (server -> client) ----------------------------------------

/// Size of the file, or of the tree, at `path` (links never followed).
struct du_request {
  uint32_t id = 0;
  std::string path;
};

/// Delete the entry at `path`; a directory only with `recursive`. Gated by
/// the node's allow-delete policy.
struct remove_request {
  uint32_t id = 0;
  std::string path;
  bool recursive = false;
};

/// A message for the node's operator: the node logs and prints it.
struct notice {
  std::string text;
};

/// Answer to an echo: the line reversed (by UTF-8 code points).
struct echo_reply {
  std::string text;
};

// -- file operations (client -> server) ----------------------------------------

/// Reply to a du_request. For a directory, `files` and `dirs` count what lies
/// beneath it (not itself); `bytes` sums the sizes of its regular files. For
/// anything else, `files` is 1 and `bytes` is its size.
struct du_reply {
  uint32_t id = 0;
  entry_type type = entry_type::other;
  uint64_t bytes = 0;
  uint64_t files = 0;
  uint64_t dirs = 0;
};

/// Reply to a remove_request: how many entries were removed (the target
/// included).
struct remove_reply {
  uint32_t id = 0;
  uint64_t removed = 0;
};

/// A line typed on the node's terminal, for the server's shell.
struct echo {
  std::string text;
};

// -- file transfer ------------------------------------------------------------

/// Fetch the regular file at `path`, sending its bytes from `offset` on
/// (0: all; a resumed download asks for what it lacks). Gated by the node's
/// allow-download policy.
struct download_request {
  uint32_t id = 0;
  std::string path;
  uint64_t offset = 0;
  uint8_t flags = 0; ///< transfer_tree: `path` is a directory, sent as tar.gz
};

/// Create the regular file `path` (it must not exist) from the data_chunks
/// that follow; `size` is what the server will send. Gated by the node's
/// allow-upload policy.
struct upload_request {
  uint32_t id = 0;
  std::string path;
  uint64_t size = 0; ///< 0 and unchecked for a tree (its size is unknown)
  uint8_t flags = 0; ///< transfer_tree: a tar.gz stream of a new directory
};

/// Flag of download_request / upload_request: the data is the tar.gz stream
/// of a directory tree (unknown bits are a bad_request).
constexpr uint8_t transfer_tree = 0x01;

/// Flag of download_request / upload_request (files only, never with
/// transfer_tree): the sender of the data sends one file_meta before its
/// first data_chunk, so the file lands with the source's mode and mtime.
constexpr uint8_t transfer_meta = 0x02;

/// Flag of upload_request (with transfer_meta): continue the partial file a
/// broken upload of the same source (size, mtime) kept on the node; the
/// first data_chunk's offset says how much of it the server verified.
constexpr uint8_t transfer_resume = 0x04;

/// The size, permission bits and mtime of the file a transfer sends (both
/// directions, before the first data_chunk, with transfer_meta).
struct file_meta {
  uint32_t id = 0;
  uint64_t size = 0;     ///< the source's size when it was opened
  uint32_t mode = 0;     ///< st_mode & 07777 of the source
  int64_t mtime_ns = 0;  ///< UTC nanoseconds since the epoch
};

/// Bytes of transfer `id` at file offset `offset` (both directions: node to
/// server for a download, server to node for an upload). Acked with
/// chunk_ack by the receiver once consumed.
struct data_chunk {
  uint32_t id = 0;
  uint64_t offset = 0;
  std::string data;
};

/// The server sent every byte of upload `id`: the node checks `size` and
/// `sha256` against what it received and then moves the file into place.
struct upload_end {
  uint32_t id = 0;
  uint64_t size = 0;
  sha256_digest sha256{};
};

/// Final frame of a download: the file's size and the SHA-256 of the whole
/// file (from offset 0, whatever the request's offset).
struct download_end {
  uint32_t id = 0;
  uint64_t size = 0;
  sha256_digest sha256{};
};

/// Final frame of an upload: the file is in place with `size` bytes.
struct upload_reply {
  uint32_t id = 0;
  uint64_t size = 0;
};

/// Client -> server: listing `id` is still working (hashing a large file);
/// `hashed` bytes so far. Resets the server's request timeout. Only to a
/// server whose welcome.features has server_feature::list_progress.
struct list_progress {
  uint32_t id = 0;
  uint64_t hashed = 0;
};

// -- find (capability::find) --------------------------------------------------

/// Flags of a find_request.
namespace find_flags {
/// Compute SHA-256 for matching regular files (through the hash cache).
constexpr uint8_t with_hashes = 1u << 0;
} // namespace find_flags

/// Type bits of find_request.types (0: every type).
namespace find_types {
constexpr uint8_t file = 1u << 0;
constexpr uint8_t dir = 1u << 1;
constexpr uint8_t symlink = 1u << 2;
constexpr uint8_t other = 1u << 3;
constexpr uint8_t all = file | dir | symlink | other;
} // namespace find_types

/// Walk the tree at `path` on the node (links never followed, never leaving
/// the root) and stream back the entries that pass every filter given.
/// Bounds are inclusive; absent means unbounded.
struct find_request {
  uint32_t id = 0;
  std::string path;
  uint8_t flags = 0;
  std::optional<uint32_t> max_depth; ///< 0: `path` itself only
  std::optional<std::string> name_glob; ///< fnmatch on the entry's name
  std::optional<std::string> path_glob; ///< fnmatch on the relative path
  uint8_t types = 0;                    ///< find_types bits, 0: all
  std::optional<uint64_t> min_size;
  std::optional<uint64_t> max_size;
  std::optional<int64_t> min_mtime_ns;
  std::optional<int64_t> max_mtime_ns;
  std::optional<sha256_digest> sha256; ///< regular files with this content
};

/// One entry a find walk matched. `item.name` is its path relative to the
/// search root ("." for the root itself, else "a/b/c").
struct find_match {
  /// No later entry of the same directory follows in the walk (matched or
  /// not): what `tree` draws its guides from.
  bool last = false;
  entry item;
};

/// Part of a find's matches, under the listing's flow control.
struct find_chunk {
  uint32_t id = 0;
  std::vector<find_match> matches;
};

/// Final frame of a successful find.
struct find_end {
  uint32_t id = 0;
  uint64_t matched = 0; ///< entries sent in all find_chunks
  uint64_t visited = 0; ///< entries the walk looked at
};

/// The walk of find `id` is alive (`visited` entries so far) though no
/// chunk went out for a while. Resets the server's request timeout.
struct find_progress {
  uint32_t id = 0;
  uint64_t visited = 0;
};

/// Client -> server: request `id` (a listing or a stat) is hashing file
/// `name` (a listing's entry name; empty for a stat) of `size` bytes, of
/// which `hashed` are done. Resets the request's timeout. Only to a server
/// whose welcome.features has server_feature::hash_progress.
struct hash_progress {
  uint32_t id = 0;
  std::string name;
  uint64_t size = 0;
  uint64_t hashed = 0;
};

/// Every message of the protocol. The index is not the wire tag: see
/// message_tag in codec.hpp.
using message
  = std::variant<hello, welcome, reject, heartbeat, heartbeat_ack, goodbye,
                 list_request, stat_request, chunk_ack, cancel, entries_chunk,
                 list_end, stat_reply, request_failed, du_request,
                 remove_request, notice, echo_reply, du_reply, remove_reply,
                 echo, download_request, upload_request, data_chunk,
                 upload_end, download_end, upload_reply, file_meta,
                 list_progress, hash_progress, find_request, find_chunk,
                 find_end, find_progress>;

/// Number of unacknowledged entries_chunk frames a client may have in flight.
constexpr uint32_t chunk_window = 4;

/// Most bytes in one data_chunk: the frame (with its 17 bytes of header
/// fields and the tag) fits the smallest frame limit.
constexpr size_t max_data_chunk = min_frame_limit - 64;

/// Most bytes in one data_chunk between peers that both announced
/// large_chunks (and within the receiver's frame limit): 4x fewer frames,
/// acks and actor messages per byte than max_data_chunk. The codec's bound.
constexpr size_t max_large_chunk = (256u << 10) - 64;

/// The frame limit a side needs to take large chunks (such a data_chunk
/// frame with its header fields fits).
constexpr uint32_t large_chunk_frame = 256u << 10;

/// Unacknowledged data_chunk frames a sender may have in flight per
/// transfer (about 1 MiB; 4 MiB with large_chunks).
constexpr uint32_t data_window = 16;

/// A client closes a chunk once it holds this many entries...
constexpr size_t max_entries_per_chunk = 256;

/// ... or once its encoding reaches this many bytes (always < min_frame_limit
/// plus one maximal entry, so every chunk fits the smallest frame limit).
constexpr size_t chunk_byte_budget = 32u << 10;

} // namespace dirscope::protocol

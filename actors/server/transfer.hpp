#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/actors.hpp"
#include "node/transfer.hpp"

namespace dirscope {

/// Bytes moved so far by a running transfer, for the progress line.
struct transfer_progress {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
};

using transfer_progress_ptr = std::shared_ptr<transfer_progress>;

/// Where a `get` writes: either the operator's own LOCAL path, or
/// DOWNLOAD_DIR/<node>/<node path>, created beneath the download directory
/// without following symlinks.
struct download_job {
  node_connection_actor conn;
  request_origin origin;
  std::string node;
  std::string path;  ///< normalized node path
  std::string local; ///< operator's target, empty: the download directory
  std::string download_dir;
  bool force = false; ///< replace an existing local file
  transfer_progress_ptr progress;
  bool tree = false; ///< `path` is a directory: a tar.gz stream, unpacked
  /// `get --resume`: continue the partial file a broken get of PATH kept
  /// (if the node's file is still the one it was cut from).
  bool resume = false;
};

/// One `get` on the server (spawn detached: it writes the file).
struct download_state {
  static inline const char* name = "download";
  download_job job;
  node::file_writer_ptr writer;
  std::string target; ///< the local path as shown
  std::optional<failure> write_error;
  /// Directories created on the way, removed again if the get fails.
  node::created_dirs made;
  /// The node's file changed since the partial file was kept: the request
  /// is being cancelled, then the get starts over.
  bool restarting = false;
  /// The console's `get`, answered exactly once.
  caf::typed_response_promise<uint64_t, std::string> promise;
};

download_actor::behavior_type
download(download_actor::stateful_pointer<download_state> self,
         download_job job);

/// One `put` to one node (spawn detached: it reads the file).
struct upload_job {
  node_connection_actor conn;
  request_origin origin;
  std::string local;
  std::string path; ///< normalized node path of the new file
  transfer_progress_ptr progress;
  bool tree = false; ///< `local` is a directory, sent as a tar.gz stream
  /// `put --resume`: continue the partial file a broken upload of the same
  /// file left on the node, from the prefix that hashes the same here.
  bool resume = false;
};

struct upload_state {
  static inline const char* name = "upload";
  upload_job job;
  node::file_reader_ptr reader;
  /// The console's `put`, answered exactly once.
  caf::typed_response_promise<uint64_t> promise;
};

upload_actor::behavior_type
upload(upload_actor::stateful_pointer<upload_state> self, upload_job job);

} // namespace dirscope

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <caf/actor_clock.hpp>
#include <caf/response_promise.hpp>

#include "actors/actors.hpp"

namespace dirscope {

/// What a request to a node asks for: its final frame and the type of its
/// reply differ.
enum class request_kind : uint8_t { list, stat, du, remove, get, put, find };

/// One request in flight on a node connection: the single table entry
/// that failing, timing out, cancelling and finishing work on.
struct pending_request {
  request_kind kind = request_kind::stat;
  /// remove: a directory with everything beneath it.
  bool recursive = false;
  /// get, put: a directory as a tar.gz stream.
  bool tree = false;
  std::string path;
  /// The console's query id: its acks (list, get) and cancels name it.
  std::optional<uint64_t> query;
  /// Who asked, for the request report.
  std::string operator_name;
  /// Gets the reply (its types depend on `kind`, see actors.hpp) or the
  /// error.
  caf::response_promise reply;
  /// No frame for the request after this: it times out.
  caf::actor_clock::time_point deadline;
  /// list: where entries go; get: where bytes go; put: who reads them.
  listing_sink_actor entries_sink;
  /// find: where matches go, and the depth they may reach (none: any).
  find_sink_actor matches_sink;
  std::optional<uint32_t> max_depth;
  transfer_sink_actor data_sink;
  upload_pump_actor pump;
  /// The flow-control window in use: chunks received and not yet acked
  /// (list, get), or data_chunks sent and not yet acked by the node (put).
  uint32_t unacked = 0;
  /// list: entries received; get: the next expected offset; put: the size.
  uint64_t count = 0;
  /// put: upload_end was sent.
  bool ended = false;
  /// get: the node was asked for a file_meta (transfer_meta).
  bool meta = false;
  /// get: no file_meta may come any more (one came, or data did).
  bool meta_closed = false;
};

/// The name of a request kind in logs ("ls", "rm -r", ...).
const char* command_of(const pending_request& req);

/// Every request in flight on one connection, by wire id. Ids are never
/// reused on a connection: a late frame of an old request can never land
/// in a new one.
class request_table {
public:
  using map_type = std::map<uint32_t, pending_request>;
  using iterator = map_type::iterator;

  /// Enters `req` under a fresh id and returns the id: ids grow and, after
  /// wrapping, skip 0 and ids still in flight.
  uint32_t add(pending_request req);

  /// The request `id`, or end().
  iterator find(uint32_t id) {
    return map_.find(id);
  }

  /// The request `id` if it is of kind `kind`, or end().
  iterator find(uint32_t id, request_kind kind);

  /// The request of console query `query`, or end().
  iterator find_query(uint64_t query);

  /// Removes request `i` and hands it back (to report and answer it).
  pending_request take(iterator i);

  iterator begin() {
    return map_.begin();
  }

  iterator end() {
    return map_.end();
  }

  size_t size() const {
    return map_.size();
  }

  bool empty() const {
    return map_.empty();
  }

  /// The id add() tries next (tests set it to check the wrap-around).
  uint32_t next_id = 1;

private:
  map_type map_;
};

} // namespace dirscope

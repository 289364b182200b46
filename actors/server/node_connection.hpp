#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <map>
#include <optional>

#include <caf/io/broker.hpp>
#include <caf/response_promise.hpp>

#include "actors/actors.hpp"
#include "actors/channel.hpp"
#include "actors/settings.hpp"
#include "protocol/codec.hpp"
#include "tls/context.hpp"

namespace dirscope {

/// What a request to a node asks for: its final frame and the type of its
/// reply differ.
enum class request_kind : uint8_t { list, stat, du, remove, get, put };

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
  /// Gets the reply (its types depend on `kind`, see actors.hpp) or the
  /// error.
  caf::response_promise reply;
  /// No frame for the request after this: it times out.
  caf::actor_clock::time_point deadline;
  /// list: where entries go; get: where bytes go; put: where they come from.
  listing_sink_actor entries_sink;
  transfer_sink_actor data_sink;
  upload_source_actor source;
  /// The flow-control window in use: chunks received and not yet acked
  /// (list, get), or data_chunks sent and not yet acked by the node (put).
  uint32_t unacked = 0;
  /// list: entries received; get: the next expected offset; put: the size.
  uint64_t count = 0;
  /// put: a read from `source` is on its way.
  bool reading = false;
  /// put: upload_end was sent.
  bool ended = false;
  /// get: the node was asked for a file_meta (transfer_meta); put: one was
  /// sent after the upload_request.
  bool meta = false;
  /// get: the node's file_meta arrived (at most one, before any data).
  bool meta_seen = false;
};

/// The name of a request kind in logs ("ls", "rm -r", ...).
const char* command_of(const pending_request& req);

/// The server's end of one node's TCP connection: speaks the wire protocol
/// and turns frames into typed messages. One per accepted connection.
struct node_connection_state {
  static inline const char* name = "node_connection";

  /// Fails whatever is still pending, whichever way the actor ended (a kill
  /// skips every handler): nobody waits for a reply forever.
  ~node_connection_state();

  caf::io::connection_handle hdl;
  /// Plain TCP or TLS: frames are read and written through it.
  channel chan;
  supervisor_actor supervisor;
  server_settings settings;
  protocol::frame_decoder decoder;
  /// Address, port and, after the hello, what the node said of itself.
  node_info info;
  enum class phase { awaiting_hello, joining, joined, closing } stage
    = phase::awaiting_hello;
  /// The next request id: ids are never reused on a connection (a late
  /// frame of an old request can never land in a new one).
  uint32_t next_request = 1;
  uint64_t heartbeat_seq = 0;
  caf::actor_clock::time_point last_rx;
  /// Every request in flight, by wire id.
  std::map<uint32_t, pending_request> requests;
  /// Reading from the node is paused: it does not read what we write.
  bool reading_paused = false;

  size_t in_flight() const {
    return requests.size();
  }

  /// The request for console query `query`, if any.
  std::map<uint32_t, pending_request>::iterator find_query(uint64_t query);

  /// The node's name as logs may show it (escaped), or "no hello yet".
  std::string who() const;
};

/// Bytes the server may have waiting for one node's socket before it stops
/// reading from that node (an upload window is 1 MiB of data).
constexpr size_t output_backlog_limit = 2 * 1024 * 1024;

/// Bytes read from a node's socket at a time.
constexpr size_t read_size = 64 * 1024;

using node_connection_broker
  = caf::io::stateful_broker<node_connection_state>*;

/// The TLS context of the server (nullptr: plain TCP).
using tls_context_ptr = std::shared_ptr<tls::context>;

/// Runs one node connection (forked by the acceptor).
caf::behavior node_connection(node_connection_broker self,
                              caf::io::connection_handle hdl,
                              supervisor_actor supervisor,
                              server_settings settings, tls_context_ptr tls);

/// Accepts TCP connections on `doorman` and forks a node_connection for
/// each, announcing it to the supervisor.
caf::behavior acceptor(caf::io::broker* self, caf::io::doorman_ptr doorman,
                       supervisor_actor supervisor, server_settings settings,
                       tls_context_ptr tls);

} // namespace dirscope

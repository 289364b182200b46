#pragma once

// Every typed interface of dirscope's actors: read this file first.
//
// Server: acceptor (broker) -> forks one node_connection (typed broker) per
//         TCP node, which spawns an upload_pump per upload in flight;
//         supervisor (node table, monitors every connection);
//         console (user commands, the only place that renders output).
// Client: node_agent (connects, reconnects with backoff, owns the pool);
//         client_connection (broker, speaks the protocol);
//         lister (one per listing in progress); finder (one per find or
//         node-side tree walk); fs_worker pool (blocking I/O).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/io/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace dirscope {

using caf::reacts_to;
using caf::replies_to;

// -- server -------------------------------------------------------------------

/// Receives the entries of a listing as they arrive.
using listing_sink_actor = caf::typed_actor<
  /// Part of the listing for query `id`; answer with `ack` to get more.
  reacts_to<atom::chunk, uint64_t, std::vector<protocol::entry>>,
  /// Query `id` (a listing or a stat) is hashing file `name` (empty for a
  /// stat) of `size` bytes, `hashed` of them done (hash_progress).
  reacts_to<atom::progress, uint64_t, std::string, uint64_t, uint64_t>>;

/// Receives the matches of a find as they arrive.
using find_sink_actor = caf::typed_actor<
  /// Part of the matches of query `id`; answer with `ack` to get more.
  reacts_to<atom::chunk, uint64_t, std::vector<protocol::find_match>>>;

/// Receives the bytes of a download (the server's file writer).
using transfer_sink_actor = caf::typed_actor<
  /// Bytes of transfer `query` at file offset `offset`; the sink answers the
  /// connection with `ack` once they are written.
  reacts_to<atom::data, uint64_t, uint64_t, std::string>,
  /// The node's file_meta for transfer `query`: (size, mode, mtime), before
  /// its first bytes.
  reacts_to<atom::meta, uint64_t, uint64_t, uint32_t, int64_t>>;

/// Hands out the bytes of an upload (the server's file reader).
using upload_source_actor = caf::typed_actor<
  /// The next piece of the file, at most this many bytes; the last one has
  /// `end` set and carries size and SHA-256.
  replies_to<atom::read, uint64_t>::with<node::file_chunk>>;

/// One `get` on the server: writes the file (detached, blocking I/O).
using download_actor = transfer_sink_actor::extend<
  /// Runs the download; replies with the size and the local path once the
  /// verified file is in place (the temporary file is gone otherwise).
  replies_to<atom::get>::with<uint64_t, std::string>>;

/// One `put` to one node on the server: reads the file (detached).
using upload_actor = upload_source_actor::extend<
  /// Runs the upload; replies with the size once the node has the file.
  replies_to<atom::put>::with<uint64_t>>;

/// Receives lines a node's operator typed (the console).
using echo_sink_actor = caf::typed_actor<
  /// Node `name` sent line `text`.
  reacts_to<atom::echo, std::string, std::string>>;

/// Watches the fleet (the operator API's event stream): lines from nodes,
/// joins and leaves.
using node_event_sink_actor = echo_sink_actor::extend<
  /// Node `info` joined.
  reacts_to<atom::join, node_info>,
  /// Node `info` left, for `reason`.
  reacts_to<atom::goodbye, node_info, std::string>>;

/// Streams one download to an operator API client (api/file_stream).
using file_stream_actor = transfer_sink_actor::extend<
  /// The client took bytes: acks held back for a slow client may go.
  reacts_to<atom::ack>>;

/// What the console, transfers and the supervisor ask of one node's
/// connection (the node_broker_actor below).
using node_connection_actor = caf::typed_actor<
  /// The handshake deadline passed (sent by the supervisor's sweep): go
  /// unless the hello came.
  reacts_to<atom::deadline>,
  /// The supervisor's heartbeat round: check liveness, send a heartbeat.
  reacts_to<atom::tick>,
  /// Lists directory `path`, streaming chunks to `sink` under query `id`;
  /// replies with (total entries, sorted) when the listing is complete.
  replies_to<atom::list, request_origin, std::string, uint8_t,
             listing_sink_actor>::with<uint64_t, bool>,
  /// Walks the tree at `spec.path` on the node (capability::find) with the
  /// filters of `spec` (its id is set here), streaming matches to `sink`
  /// under query `id`; replies with (matched, visited) at the end. Fails
  /// with bad_request for a node without the capability.
  replies_to<atom::find, request_origin, protocol::find_request,
             find_sink_actor>::with<uint64_t, uint64_t>,
  /// The sink consumed one chunk of query `id`.
  reacts_to<atom::ack, uint64_t>,
  /// Abandons query `id` (timeout, user gave up): it fails with cancelled
  /// and the node is told to stop.
  reacts_to<atom::cancel, uint64_t>,
  /// Describes the entry at `path` (query `id`, for cancel).
  replies_to<atom::stat, request_origin, std::string>::with<protocol::entry>,
  /// As stat; the node's hash_progress for it goes to `sink`.
  replies_to<atom::stat, request_origin, std::string,
             listing_sink_actor>::with<protocol::entry>,
  /// Measures the file or tree at `path` (query `id`, for cancel).
  replies_to<atom::du, request_origin, std::string>::with<protocol::du_reply>,
  /// Deletes the entry at `path` (a directory only if `recursive`) under
  /// query `id`; replies with the number of entries removed.
  replies_to<atom::remove, request_origin, std::string, bool>::with<uint64_t>,
  /// Downloads the regular file `path` from `offset` on (or with flag
  /// transfer_tree the directory `path` as a tar.gz stream, offset 0),
  /// streaming its bytes to `sink` under query `id` (acked with `ack`), with
  /// transfer_meta first its file_meta (if the node knows it); replies with
  /// the size and SHA-256 (of the whole file or stream) after the last byte.
  replies_to<atom::get, request_origin, std::string, uint64_t, uint8_t,
             transfer_sink_actor>::with<uint64_t, protocol::sha256_digest>,
  /// Uploads `size` bytes pulled from `source` as new file `path` (or with
  /// flag transfer_tree a tar.gz stream of unknown size as new directory
  /// `path`) under query `id`; with transfer_meta the file gets this mode
  /// and mtime (nodes that predate file_meta: the flag is dropped), with
  /// transfer_resume it continues the node's partial file from the first
  /// chunk's offset (refused by such older nodes); replies with the size
  /// once the node has it in place.
  replies_to<atom::put, request_origin, std::string, uint64_t, uint8_t,
             uint32_t, int64_t, upload_source_actor>::with<uint64_t>,
  /// Sends a notice with `text` to the node; `operator_name` sent it (for
  /// the request report).
  reacts_to<atom::notice, std::string, std::string>,
  /// Sends goodbye with this reason (code and text) to the node, then
  /// closes.
  reacts_to<atom::goodbye, caf::error>>;

/// Where an upload_pump hands over the pieces of upload `id` (the node's
/// connection, which frames them).
using upload_target_actor = caf::typed_actor<
  /// Bytes of upload `id` at file offset `offset`: one data_chunk.
  reacts_to<atom::data, uint32_t, uint64_t, std::string>,
  /// Upload `id` read everything: (size, SHA-256) for its upload_end.
  reacts_to<atom::done, uint32_t, uint64_t, protocol::sha256_digest>,
  /// Reading upload `id` failed: the upload fails and the node is told to
  /// stop.
  reacts_to<atom::failed, uint32_t, caf::error>>;

/// One upload in flight on a node connection: pulls chunks from the
/// upload's source and hands them to the connection, never more than
/// protocol::data_window ahead of the node. The connection ends it when
/// the request ends.
using upload_pump_actor = caf::typed_actor<
  /// The node wrote one more chunk (chunk_ack): the window moves on.
  reacts_to<atom::ack>>;

/// The server's side of one node's TCP connection: a typed io broker the
/// acceptor forks per connection. Besides these it handles its own timers,
/// which only it sends to itself (see node_connection.hpp).
using node_broker_actor
  = node_connection_actor::extend_with<upload_target_actor>::extend<
    /// Bytes from the socket.
    reacts_to<caf::io::new_data_msg>,
    /// The socket wrote bytes (only while reads are paused for back-pressure).
    reacts_to<caf::io::data_transferred_msg>,
    /// The peer closed the connection.
    reacts_to<caf::io::connection_closed_msg>>;

/// Owns the table of connected nodes.
using supervisor_actor = caf::typed_actor<
  /// A TCP connection was accepted; the supervisor monitors it from now on.
  reacts_to<atom::connected, node_connection_actor>,
  /// The connection finished its hello; replies with the session id or
  /// rejects (name_taken, server_full, shutdown). The connection keeps
  /// the node's liveness up to date.
  replies_to<atom::join, node_info, node_connection_actor,
             node_liveness_ptr>::with<uint64_t>,
  /// Returns the node table, ordered by id.
  replies_to<atom::nodes>::with<std::vector<node_info>>,
  /// One page of the nodes matching the query, in name order (`nodes`).
  replies_to<atom::nodes, node_query>::with<node_page>,
  /// Finds a node by name or id.
  replies_to<atom::resolve, std::string>::with<node_info,
                                               node_connection_actor>,
  /// Operator `operator_name` disconnects node `name`; replies once it is
  /// gone.
  replies_to<atom::kick, std::string, std::string>::with<node_info>,
  /// Replies with the node count once at least `n` nodes are connected;
  /// fails with timeout after `timeout` (query `id`, for cancel).
  replies_to<atom::wait, uint64_t, uint64_t, caf::timespan>::with<uint64_t>,
  /// Abandons the `wait` of query `id`: it fails with cancelled.
  reacts_to<atom::cancel, uint64_t>,
  /// Says goodbye to every node; replies with how many there were once all
  /// are gone (or the grace period ended).
  replies_to<atom::shutdown>::with<uint64_t>,
  /// Like shutdown, but the goodbye says `restarting`: nodes reconnect.
  replies_to<atom::restart>::with<uint64_t>,
  /// Operator `operator_name` sends notice `text` to every joined node;
  /// replies with how many got it.
  replies_to<atom::broadcast, std::string, std::string>::with<uint64_t>,
  /// Node `name` sent line `text`: forwarded to the echo subscriber.
  reacts_to<atom::echo, std::string, std::string>,
  /// From now on, lines from nodes go to `sink` (the console).
  reacts_to<atom::subscribe, echo_sink_actor>,
  /// From now on, `sink` hears of every join, leave and line from a node,
  /// until it terminates (any number of sinks).
  reacts_to<atom::subscribe, node_event_sink_actor>,
  /// Timer: waiter `id` of a `wait` ran out of time.
  reacts_to<atom::timeout, uint64_t>,
  /// Timer: the shutdown grace period is over.
  reacts_to<atom::deadline>,
  /// Timer: connections past their handshake deadline are told to go.
  reacts_to<atom::tick>,
  /// Timer: the next heartbeat round (heartbeat_schedule).
  reacts_to<atom::heartbeat>>;

/// Reads commands and renders every result for people.
using console_actor = listing_sink_actor::extend_with<find_sink_actor>::extend<
  /// One line of user input.
  reacts_to<atom::line, std::string>,
  /// End of input: run what is queued, then quit.
  reacts_to<atom::eof>,
  /// A signal: abandon what runs and quit now.
  reacts_to<atom::shutdown>,
  /// Ctrl-C in an interactive shell: cancel the running command (its
  /// transfers and listings are cancelled on the node, their temporary
  /// files removed); at an idle prompt only a hint to type quit.
  reacts_to<atom::cancel>,
  /// Node `name` sent line `text`: shown as "[name] text".
  reacts_to<atom::echo, std::string, std::string>,
  /// Timer: update the progress line of transfer run `generation`.
  reacts_to<atom::progress, uint64_t>,
  /// Tab: the words that may complete the end of `line`.
  replies_to<atom::complete, std::string>::with<std::vector<std::string>>>;

// -- client -------------------------------------------------------------------

using dir_cursor_ptr = std::shared_ptr<node::dir_cursor>;
using find_walk_ptr = std::shared_ptr<node::find_walk>;

/// A blocking filesystem worker; a pool of them serves one node.
using fs_worker_actor = caf::typed_actor<
  /// Opens directory `path` for listing.
  replies_to<atom::open, std::string>::with<dir_cursor_ptr>,
  /// Reads the next batch of an open listing.
  replies_to<atom::read, dir_cursor_ptr, bool>::with<node::listing_batch>,
  /// Hashes file `name` in the cursor's directory, expecting `key`,
  /// counting the bytes read in the counter.
  replies_to<atom::hash, dir_cursor_ptr, std::string, node::file_key,
             node::hash_job_ptr>::with<protocol::sha256_digest>,
  /// Hashes the pending entries of a batch of the cursor's directory
  /// (small files, one message for many) and fills in hashes or errors.
  replies_to<atom::hash, dir_cursor_ptr,
             node::listing_batch>::with<node::listing_batch>,
  /// Starts the find walk a find_request describes.
  replies_to<atom::find, protocol::find_request>::with<find_walk_ptr>,
  /// One bounded step of a find walk: its next matches.
  replies_to<atom::find, find_walk_ptr>::with<node::find_batch>,
  /// Describes the entry at `path`, hashed if a regular file.
  replies_to<atom::stat, std::string>::with<protocol::entry>,
  /// Describes the entry at `path`; a regular file is hashed only if its
  /// size is at most the given bytes (or its hash is cached).
  replies_to<atom::stat, std::string, uint64_t>::with<protocol::entry>,
  /// Describes the entry at `path`, hashed if a regular file, counting
  /// the bytes hashed in the counter.
  replies_to<atom::stat, std::string,
             node::hash_job_ptr>::with<protocol::entry>,
  /// Measures the file or tree at `path` (links not followed).
  replies_to<atom::du, std::string>::with<protocol::du_reply>,
  /// Deletes the entry at `path`, a directory only if `recursive`; replies
  /// with the number of entries removed.
  replies_to<atom::remove, std::string, bool>::with<uint64_t>,
  /// Opens the regular file `path` for a download starting at `offset`, or
  /// with `tree` the directory `path` for a tar.gz stream.
  replies_to<atom::get, std::string, uint64_t,
             bool>::with<node::file_reader_ptr>,
  /// Reads (and hashes) the next chunk of a download.
  replies_to<atom::read, node::file_reader_ptr>::with<node::file_chunk>,
  /// Creates the temporary file for upload `id` of new file `path`, or with
  /// `tree` the temporary directory a tar.gz stream unpacks into
  /// (already_exists if `path` exists).
  replies_to<atom::put, uint64_t, std::string,
             bool>::with<node::file_writer_ptr>,
  /// As put, for a regular file of `size` bytes with this mode and mtime
  /// (applied at commit); with `resume`, continues the partial file a
  /// broken upload of the same source kept.
  replies_to<atom::put, uint64_t, std::string, uint64_t, uint32_t, int64_t,
             bool>::with<node::file_writer_ptr>,
  /// Writes bytes of an upload at `offset`; replies with the bytes so far.
  replies_to<atom::write, node::file_writer_ptr, uint64_t,
             std::string>::with<uint64_t>,
  /// Checks size and SHA-256, then moves the upload into place.
  replies_to<atom::commit, node::file_writer_ptr, uint64_t,
             protocol::sha256_digest>::with<uint64_t>>;

/// The client's side of the TCP connection (an io broker). Besides these it
/// handles io events and its own liveness timer (tick).
using client_connection_actor = caf::typed_actor<
  /// A chunk of listing `id` is ready to send.
  reacts_to<atom::chunk, uint32_t, std::vector<protocol::entry>>,
  /// Listing `id` is complete: (total, sorted).
  reacts_to<atom::done, uint32_t, uint64_t, bool>,
  /// Request `id` failed.
  reacts_to<atom::failed, uint32_t, caf::error>,
  /// Say goodbye to the server and close (client is stopping).
  reacts_to<atom::goodbye, caf::error>,
  /// A line the node's operator typed: send it to the server as echo.
  reacts_to<atom::echo, std::string>,
  /// Bytes of download `id` at `offset` are ready to send.
  reacts_to<atom::data, uint32_t, uint64_t, std::string>,
  /// Download `id` is complete: (size, SHA-256).
  reacts_to<atom::done, uint32_t, uint64_t, protocol::sha256_digest>,
  /// Upload `id` wrote one more chunk: acknowledge it to the server.
  reacts_to<atom::ack, uint32_t>,
  /// Upload `id` is in place with this many bytes.
  reacts_to<atom::commit, uint32_t, uint64_t>,
  /// Download `id` sends a file of this size, mode and mtime (file_meta).
  reacts_to<atom::meta, uint32_t, uint64_t, uint32_t, int64_t>,
  /// Listing `id` still hashes a large file: bytes hashed so far (or find
  /// `id` still walks: entries visited so far).
  reacts_to<atom::progress, uint32_t, uint64_t>,
  /// Matches of find `id` are ready to send.
  reacts_to<atom::chunk, uint32_t, std::vector<protocol::find_match>>,
  /// Find `id` is complete: (matched, visited).
  reacts_to<atom::done, uint32_t, uint64_t, uint64_t>,
  /// Listing `id` hashes file `name` of `size` bytes, `hashed` done.
  reacts_to<atom::progress, uint32_t, std::string, uint64_t, uint64_t>>;

/// One listing in progress on the client.
using lister_actor = caf::typed_actor<
  /// The server consumed one chunk.
  reacts_to<atom::ack>,
  /// Timer (its own): report progress while a large file is hashed.
  reacts_to<atom::tick>,
  /// Timer (its own): batch `seq` waited long enough for a large file's
  /// hash; with late rows, its other rows go out without that row.
  reacts_to<atom::timeout, uint64_t>>;

/// One find or node-side tree walk in progress on the client.
using finder_actor = caf::typed_actor<
  /// The server consumed one chunk.
  reacts_to<atom::ack>,
  /// Timer (its own): report progress while the walk goes on.
  reacts_to<atom::tick>>;

/// One download in progress on the client (reads on a worker).
using file_sender_actor = caf::typed_actor<
  /// The server consumed one chunk.
  reacts_to<atom::ack>>;

/// One upload in progress on the client (writes on a worker).
using file_receiver_actor = caf::typed_actor<
  /// Bytes of the upload at `offset`.
  reacts_to<atom::data, uint64_t, std::string>,
  /// The source's mode and mtime (file_meta), before any data.
  reacts_to<atom::meta, uint32_t, int64_t>,
  /// The server cancelled the upload: drop the temporary file (no partial
  /// file is kept) and quit.
  reacts_to<atom::cancel>,
  /// The server sent everything: (size, SHA-256) to check.
  reacts_to<atom::commit, uint64_t, protocol::sha256_digest>>;

/// Keeps the node connected: connects, reconnects, stops.
using node_agent_actor = caf::typed_actor<
  /// Try to connect now.
  reacts_to<atom::connect>,
  /// The server welcomed us: reset the backoff.
  reacts_to<atom::welcomed>,
  /// A line typed on the node's terminal: forwarded to the connection.
  reacts_to<atom::echo, std::string>,
  /// Stop: say goodbye and exit.
  reacts_to<atom::shutdown>>;

} // namespace dirscope

#include "actors/server/node_connection.hpp"

#include <caf/io/doorman.hpp>
#include <caf/io/system_messages.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/node_connection_ops.hpp"
#include "actors/server/upload_pump.hpp"
#include "actors/wire_io.hpp"
#include "protocol/names.hpp"

namespace dirscope {

node_connection_state::~node_connection_state() {
  auto err = make_error(wire_code::io_error, "the node connection closed");
  for (auto& [id, req] : requests)
    req.reply.deliver(err);
}

std::string node_connection_state::who() const {
  return info.name.empty() ? std::string{"no hello yet"}
                           : protocol::escape_name(info.name);
}

namespace node_conn {

void write(self_ptr self, const protocol::message& msg) {
  send_frame(self, self->state.hdl, self->state.chan, msg);
}

// -- closing ------------------------------------------------------------------

void close(self_ptr self, const failure& why, bool say_goodbye,
           caf::error exit_reason) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  fail_all(self, why);
  if (say_goodbye)
    write(self, protocol::goodbye{why.code, why.message});
  close_channel(self, st.hdl, st.chan);
  st.stage = state::phase::closing;
  self->quit(std::move(exit_reason));
}

void reject(self_ptr self, wire_code code, const std::string& reason,
            caf::error exit_reason) {
  auto& st = self->state;
  write(self, protocol::reject{code, reason});
  close_channel(self, st.hdl, st.chan);
  st.stage = state::phase::closing;
  self->quit(std::move(exit_reason));
}

void protocol_violation(self_ptr self, const std::string& what) {
  auto& st = self->state;
  spdlog::warn("closing connection {} ({}): protocol error: {}",
               st.info.endpoint(), st.who(), what);
  failure why{wire_code::protocol_error, what};
  close(self, why, true, to_error(why));
}

namespace {

/// A failure below the frames: wrong transport, TLS, or undecodable bytes.
void on_transport_error(self_ptr self, const failure& err) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  if (st.chan.wrong_transport()) {
    spdlog::warn("dropping connection {}: {}", st.info.endpoint(),
                 err.message);
    if (st.chan.secure()) {
      // Tell a plaintext dirscope client why, in its own language.
      auto frame = protocol::encode(protocol::reject{
        wire_code::tls_required,
        "this server accepts TLS connections only (the node runs with "
        "--tls=false)"});
      auto& buf = self->wr_buf(st.hdl);
      buf.insert(buf.end(), frame->begin(), frame->end());
      self->flush(st.hdl);
    }
    fail_all(self, err);
    st.stage = state::phase::closing;
    self->quit(to_error(err));
    return;
  }
  if (auto session = st.chan.session(); session && session->failed()) {
    spdlog::warn("TLS with {} ({}) failed: {}", st.info.endpoint(), st.who(),
                 err.message);
    failure why{wire_code::tls_failure, err.message};
    close(self, why, false, to_error(why));
    return;
  }
  protocol_violation(self, err.message);
}

// -- back-pressure on the node ------------------------------------------------

/// Stops reading from a node that does not read what we write: its echo
/// replies and acks then wait in its own socket, not in our memory.
void check_backlog(self_ptr self) {
  auto& st = self->state;
  if (st.reading_paused || st.stage == state::phase::closing
      || self->wr_buf(st.hdl).size() <= output_backlog_limit)
    return;
  spdlog::debug("pausing reads from {} ({}): {} bytes wait for it",
                st.info.endpoint(), st.who(), self->wr_buf(st.hdl).size());
  st.reading_paused = true;
  self->halt(st.hdl);
  self->ack_writes(st.hdl, true);
}

/// Resumes reading once the backlog (`remaining` bytes) has halved.
void resume_reading(self_ptr self, size_t remaining) {
  auto& st = self->state;
  if (!st.reading_paused || st.stage == state::phase::closing
      || remaining > output_backlog_limit / 2)
    return;
  st.reading_paused = false;
  self->ack_writes(st.hdl, false);
  self->trigger(st.hdl);
}

// -- read buffers -------------------------------------------------------------

void set_read_limit(self_ptr self, size_t n) {
  self->state.read_limit = n;
  self->configure_read(self->state.hdl, caf::io::receive_policy::at_most(n));
}

/// Grows reads to read_size when one fills the buffer; after a quiet tick
/// (see shrink_reads) returns the large buffer. CAF swaps `buf` back into
/// the socket after this handler and resizes it to the read limit without
/// ever shrinking it: an empty vector makes it allocate the small size.
void adapt_reads(self_ptr self, caf::io::new_data_msg& msg) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  if (msg.buf.size() >= st.read_limit) {
    st.reads_full = true;
    st.release_read_buffer = false;
    if (st.read_limit < read_size)
      set_read_limit(self, read_size);
  } else if (st.release_read_buffer) {
    st.release_read_buffer = false;
    std::vector<char>{}.swap(msg.buf);
  }
}

/// A heartbeat interval without a full read: back to small reads.
void shrink_reads(self_ptr self) {
  auto& st = self->state;
  if (st.read_limit > idle_read_size && !st.reads_full) {
    set_read_limit(self, idle_read_size);
    st.release_read_buffer = true;
  }
  st.reads_full = false;
}

/// Bytes from the socket: frames for on_frame, or the end of the session.
void on_bytes(self_ptr self, caf::io::new_data_msg& msg) {
  auto& st = self->state;
  auto err = consume_bytes(st.chan, st.decoder, msg.buf,
                           [self](protocol::message& x) {
                             return on_frame(self, x);
                           });
  flush_channel(self, st.hdl, st.chan);
  if (err)
    return on_transport_error(self, *err);
  if (st.chan.peer_closed() && st.stage != state::phase::closing) {
    spdlog::debug("{} ({}) ended TLS (close_notify)", st.info.endpoint(),
                  st.who());
    failure why{wire_code::io_error, "the node disconnected"};
    close(self, why, false, to_error(why));
    return;
  }
  check_backlog(self);
  adapt_reads(self, msg);
}

// -- liveness -----------------------------------------------------------------

/// The supervisor's heartbeat round: checks liveness, sends the heartbeat.
void on_tick(self_ptr self) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  resume_reading(self, self->wr_buf(st.hdl).size());
  shrink_reads(self);
  auto silence = self->clock().now() - st.last_rx;
  if (silence > st.settings.heartbeat_interval * st.settings.heartbeat_misses) {
    failure why{wire_code::timeout, "the node stopped answering heartbeats"};
    if (st.reading_paused)
      why.message = "the node stopped reading ("
                    + std::to_string(self->wr_buf(st.hdl).size())
                    + " bytes wait for it)";
    spdlog::warn("node {} ({}): {}: disconnecting", st.who(),
                 st.info.endpoint(), why.message);
    close(self, why, true, to_error(why));
    return;
  }
  write(self, protocol::heartbeat{++st.heartbeat_seq, wall_clock_ns()});
}

/// Sets up the TLS session, if any; false if it cannot start.
/// The node understands transfer_meta and transfer_resume (issue 10).
bool knows_file_meta(self_ptr self) {
  return (self->state.info.capabilities & protocol::capability::file_meta)
         != 0;
}

bool start_channel(self_ptr self, tls_context_ptr tls) {
  if (!tls)
    return true;
  auto session = tls::session::make(std::move(tls));
  if (!session) {
    spdlog::error("cannot start TLS for a connection: {}",
                  session.error().message);
    self->quit(to_error(session.error()));
    return false;
  }
  self->state.chan = channel{std::move(*session)};
  return true;
}

} // namespace

} // namespace node_conn

using namespace node_conn;

node_broker_impl_actor::behavior_type
node_connection(node_connection_broker self, caf::io::connection_handle hdl,
                supervisor_actor supervisor, server_settings settings,
                tls_context_ptr tls) {
  auto& st = self->state;
  st.hdl = hdl;
  if (!start_channel(self, std::move(tls)))
    return node_broker_impl_actor::behavior_type::make_empty_behavior();
  st.supervisor = std::move(supervisor);
  st.settings = settings;
  st.decoder = protocol::frame_decoder{settings.max_frame};
  st.info.address = self->remote_addr(hdl);
  st.info.port = self->remote_port(hdl);
  st.last_rx = self->clock().now();
  set_read_limit(self, idle_read_size);
  spdlog::debug("connection from {}", st.info.endpoint());
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    close(self, {wire_code::shutdown, "the server is shutting down"}, false,
          msg.reason);
    self->quit(msg.reason);
  });
  return {
    // -- the socket -----------------------------------------------------------
    [self](caf::io::new_data_msg& msg) { on_bytes(self, msg); },
    [self](const caf::io::data_transferred_msg& msg) {
      resume_reading(self, msg.remaining);
    },
    [self](const caf::io::connection_closed_msg&) {
      auto& st = self->state;
      if (st.stage == state::phase::closing)
        return;
      spdlog::debug("connection {} closed by peer", st.info.endpoint());
      failure why{wire_code::io_error, "the node disconnected"};
      close(self, why, false, to_error(why));
    },
    // -- timers ---------------------------------------------------------------
    [self](atom::deadline) {
      auto& st = self->state;
      if (st.stage != state::phase::awaiting_hello)
        return;
      spdlog::warn("dropping connection {}: no hello within {} ms",
                   st.info.endpoint(), st.settings.handshake_timeout.count());
      failure why{wire_code::timeout, "no hello in time"};
      close(self, why, false, to_error(why));
    },
    [self](atom::tick) {
      if (self->state.stage == state::phase::joined)
        on_tick(self);
    },
    [self](atom::timeout, uint32_t id) { expire_request(self, id); },
    // -- requests from the console --------------------------------------------
    [self](atom::list, request_origin& origin, std::string& path, uint8_t flags,
           listing_sink_actor& sink) -> caf::result<uint64_t, bool> {
      if (auto err = admit_request(self, path))
        return err;
      auto i = open_request(self, request_kind::list, origin, path);
      i->second.entries_sink = std::move(sink);
      // Nodes that predate late rows get the version-1 flags.
      if ((self->state.info.capabilities
           & protocol::capability::hash_progress)
          == 0)
        flags = static_cast<uint8_t>(flags & ~protocol::list_flags::late_rows);
      write(self, protocol::list_request{i->first, path, flags});
      return i->second.reply;
    },
    [self](atom::find, request_origin& origin, protocol::find_request& spec,
           find_sink_actor& sink) -> caf::result<uint64_t, uint64_t> {
      if (auto err = admit_request(self, spec.path))
        return err;
      // Only nodes that announced the capability know the frame.
      if ((self->state.info.capabilities & protocol::capability::find) == 0)
        return make_error(wire_code::bad_request,
                          "node " + self->state.info.name
                            + " is too old for find (no node-side walk; "
                              "upgrade dirscope-client)");
      auto i = open_request(self, request_kind::find, origin, spec.path);
      i->second.matches_sink = std::move(sink);
      i->second.max_depth = spec.max_depth;
      spec.id = i->first;
      write(self, spec);
      return i->second.reply;
    },
    [self](atom::ack, uint64_t query) { on_consumer_ack(self, query); },
    [self](atom::cancel, uint64_t query) { cancel_query(self, query); },
    [self](atom::stat, request_origin& origin,
           std::string& path) -> caf::result<protocol::entry> {
      if (auto err = admit_request(self, path))
        return err;
      auto i = open_request(self, request_kind::stat, origin, path);
      write(self, protocol::stat_request{i->first, path});
      return i->second.reply;
    },
    [self](atom::stat, request_origin& origin, std::string& path,
           listing_sink_actor& sink) -> caf::result<protocol::entry> {
      if (auto err = admit_request(self, path))
        return err;
      auto i = open_request(self, request_kind::stat, origin, path);
      i->second.entries_sink = std::move(sink);
      write(self, protocol::stat_request{i->first, path});
      return i->second.reply;
    },
    [self](atom::du, request_origin& origin,
           std::string& path) -> caf::result<protocol::du_reply> {
      if (auto err = admit_request(self, path))
        return err;
      auto i = open_request(self, request_kind::du, origin, path);
      write(self, protocol::du_request{i->first, path});
      return i->second.reply;
    },
    [self](atom::remove, request_origin& origin, std::string& path,
           bool recursive) -> caf::result<uint64_t> {
      if (auto err = admit_request(self, path))
        return err;
      auto i = open_request(self, request_kind::remove, origin, path);
      i->second.recursive = recursive;
      write(self, protocol::remove_request{i->first, path, recursive});
      return i->second.reply;
    },
    [self](atom::get, request_origin& origin, std::string& path, uint64_t offset,
           uint8_t flags, transfer_sink_actor& sink)
      -> caf::result<uint64_t, protocol::sha256_digest> {
      if (auto err = admit_request(self, path))
        return err;
      // Nodes that predate file_meta get the version-1 request.
      if (!knows_file_meta(self))
        flags &= ~protocol::transfer_meta;
      auto i = open_request(self, request_kind::get, origin, path);
      i->second.tree = (flags & protocol::transfer_tree) != 0;
      i->second.meta = (flags & protocol::transfer_meta) != 0;
      i->second.data_sink = std::move(sink);
      i->second.count = offset;
      write(self, protocol::download_request{i->first, path, offset, flags});
      return i->second.reply;
    },
    [self](atom::put, request_origin& origin, std::string& path, uint64_t size,
           uint8_t flags, uint32_t mode, int64_t mtime_ns,
           upload_source_actor& source) -> caf::result<uint64_t> {
      if (auto err = admit_request(self, path))
        return err;
      if (!knows_file_meta(self)) {
        if ((flags & protocol::transfer_resume) != 0)
          return make_error(wire_code::bad_request,
                            "node " + self->state.info.name
                              + " is too old to resume uploads");
        flags &= ~protocol::transfer_meta;
      }
      auto i = open_request(self, request_kind::put, origin, path);
      i->second.tree = (flags & protocol::transfer_tree) != 0;
      i->second.count = size;
      write(self, protocol::upload_request{i->first, path, size, flags});
      if ((flags & protocol::transfer_meta) != 0)
        write(self,
              protocol::file_meta{i->first, size, mode & 07777, mtime_ns});
      i->second.pump = self->spawn(upload_pump,
                                   caf::actor_cast<upload_target_actor>(self),
                                   i->first, std::move(source),
                                   uint64_t{self->state.data_chunk_limit});
      return i->second.reply;
    },
    [self](atom::notice, const std::string& operator_name, std::string& text) {
      auto& st = self->state;
      if (st.stage != state::phase::joined)
        return;
      spdlog::info("request node={} addr={} operator={} cmd=notice "
                   "status=ok bytes={}",
                   st.who(), st.info.endpoint(), operator_name, text.size());
      write(self, protocol::notice{std::move(text)});
    },
    [self](atom::goodbye, const caf::error& reason) {
      close(self, to_failure(reason), true, caf::exit_reason::normal);
    },
    // -- an upload's pump -----------------------------------------------------
    [self](atom::data, uint32_t id, uint64_t offset, std::string& bytes) {
      on_upload_data(self, id, offset, bytes);
    },
    [self](atom::done, uint32_t id, uint64_t size,
           protocol::sha256_digest& sha256) {
      on_upload_done(self, id, size, sha256);
    },
    [self](atom::failed, uint32_t id, caf::error& err) {
      auto i = self->state.requests.find(id, request_kind::put);
      if (i != self->state.requests.end())
        fail_request(self, i, to_failure(err), true);
    },
  };
}

} // namespace dirscope

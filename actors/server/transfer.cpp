#include "actors/server/transfer.hpp"

#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/exit_reason.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "node/confine.hpp"
#include "node/partial.hpp"
#include "node/sha256.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"

namespace dirscope {

namespace {

/// mkdir -p for a plain local path (the operator's own choice); records
/// what it created in `made`.
outcome<node::unique_fd> open_local_dir(const std::string& dir,
                                        node::created_dirs& made) {
  if (dir.empty())
    return node::unique_fd{::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  std::string prefix;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    prefix = dir.substr(0, pos);
    if (prefix.empty())
      continue;
    if (::mkdir(prefix.c_str(), 0755) == 0)
      made.add(-1, prefix);
    else if (errno != EEXIST)
      return node::errno_failure(errno, "mkdir " + prefix);
  }
  node::unique_fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd)
    return node::errno_failure(errno, dir);
  return fd;
}

/// Opens the target directory and creates the temporary file.
outcome<node::file_writer_ptr> prepare(download_state& st) {
  auto& job = st.job;
  auto parts = protocol::split_node_path(job.path);
  if (!parts)
    return parts.error();
  if (parts->empty())
    return make_failure(wire_code::bad_request,
                        "the root cannot be fetched: name a file or a "
                        "directory beneath it");
  std::string dir_shown;
  std::string name;
  node::unique_fd dir;
  if (!job.local.empty()) {
    auto local = job.local;
    struct stat sb {};
    bool is_dir = local.back() == '/'
                  || (::stat(local.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode));
    if (is_dir) {
      while (local.size() > 1 && local.back() == '/')
        local.pop_back();
      name = parts->back();
      dir_shown = local;
    } else {
      auto slash = local.rfind('/');
      name = slash == std::string::npos ? local : local.substr(slash + 1);
      dir_shown = slash == std::string::npos ? "" : local.substr(0, slash);
      if (slash == 0)
        dir_shown = "/";
    }
    auto fd = open_local_dir(dir_shown, st.made);
    if (!fd)
      return fd.error();
    dir = std::move(*fd);
  } else {
    // A node-chosen name never leaves the download directory: every
    // component is checked and opened with O_NOFOLLOW beneath it.
    auto base = open_local_dir(job.download_dir, st.made);
    if (!base)
      return base.error();
    std::vector<std::string> components{job.node};
    components.insert(components.end(), parts->begin(), parts->end() - 1);
    auto fd = node::make_dirs_beneath(base->get(), components, &st.made);
    if (!fd)
      return fd.error();
    dir = std::move(*fd);
    name = parts->back();
    dir_shown = job.download_dir + "/" + job.node
                + protocol::parent_path(job.path);
    if (dir_shown.back() == '/')
      dir_shown.pop_back();
  }
  if (name.empty() || name == "." || name == "..")
    return make_failure(wire_code::bad_request,
                        "'" + protocol::escape_name(job.local)
                          + "' does not name a file");
  st.target = dir_shown.empty() ? name
              : dir_shown == "/" ? "/" + name
                                 : dir_shown + "/" + name;
  if (job.tree)
    return node::file_writer::create_tree(std::move(dir), name,
                                          protocol::escape_name(st.target),
                                          job.origin.query);
  return node::file_writer::create(std::move(dir), name,
                                   protocol::escape_name(st.target),
                                   job.force, job.origin.query);
}

} // namespace

namespace {

/// A transfer ends with its connection, whichever way that goes: the
/// detached actor must never outlive it waiting for an answer (a quit would
/// hang in ~actor_system).
template <class Self, class End>
void end_with_connection(Self* self, const node_connection_actor& conn,
                         End end) {
  self->set_down_handler([self, end](const caf::down_msg& msg) {
    auto err = msg.reason && msg.reason != caf::exit_reason::normal
                 ? msg.reason
                 : make_error(wire_code::io_error,
                              "the node connection closed");
    end(self, std::move(err));
  });
  self->monitor(conn);
}

} // namespace

namespace {

using download_ptr = download_actor::stateful_pointer<download_state>;

/// The get is over: answer the console, drop the temporary file (or keep
/// it as a partial file) and the directories made for nothing.
void end_download(download_ptr self, caf::error err) {
  auto& st = self->state;
  // Ctrl-C drops what arrived; a broken transfer keeps it for --resume.
  if (st.writer && !st.write_error
      && to_failure(err).code == wire_code::cancelled)
    st.writer->discard();
  // Cleaned up before the answer: the operator may look right away.
  st.writer.reset();
  st.made.rollback();
  st.promise.deliver(st.write_error ? to_error(*st.write_error)
                                    : std::move(err));
  self->quit();
}

/// Continues the partial file of a `get --resume`; returns the offset to
/// ask the node for (its file_meta then tells whether the source is still
/// the one the partial file was cut from).
outcome<uint64_t> resume_offset(download_state& st) {
  auto held = st.writer->resume();
  if (!held)
    return held;
  auto src = st.writer->source();
  auto offset = src ? std::min(*held, src->size) : 0;
  st.job.progress->done += offset;
  return offset;
}

void request_file(download_ptr self, uint64_t offset);

/// The node's file is not the one our partial file was cut from: drop the
/// partial file and start over from offset 0 (the node's request ends with
/// cancelled first).
void restart(download_ptr self) {
  auto& st = self->state;
  st.restarting = false;
  st.writer->discard();
  st.writer.reset();
  st.job.progress->done = 0;
  auto w = prepare(st);
  if (!w)
    return end_download(self, to_error(w.error()));
  st.writer = std::move(*w);
  request_file(self, 0);
}

void request_file(download_ptr self, uint64_t offset) {
  auto& st = self->state;
  auto sink = caf::actor_cast<transfer_sink_actor>(self);
  auto flags = st.job.tree ? protocol::transfer_tree
                           : protocol::transfer_meta;
  self->request(st.job.conn, caf::infinite, atom::get_v, st.job.origin,
                st.job.path, offset, flags, sink)
    .then(
      [self](uint64_t size, protocol::sha256_digest& sha256) {
        auto& st = self->state;
        if (st.restarting)
          return restart(self); // everything came before the cancel did
        if (st.write_error)
          return end_download(self, caf::error{});
        auto n = st.writer->commit(size, sha256);
        if (!n)
          return end_download(self, to_error(n.error()));
        st.promise.deliver(*n, protocol::escape_name(st.target));
        st.writer.reset();
        self->quit();
      },
      [self](caf::error& err) {
        if (self->state.restarting)
          return restart(self);
        end_download(self, std::move(err));
      });
}

} // namespace

download_actor::behavior_type
download(download_actor::stateful_pointer<download_state> self,
         download_job job) {
  self->state.job = std::move(job);
  return {
    [self](atom::meta, uint64_t query, uint64_t size, uint32_t mode,
           int64_t mtime_ns) {
      auto& st = self->state;
      if (!st.writer || st.write_error || st.restarting)
        return;
      auto src = st.writer->source();
      if (st.writer->resumed()
          && (src->size != size || src->mtime_ns != mtime_ns)) {
        // Changed since the partial file was kept: never splice.
        spdlog::info("get {}: the file changed on the node, starting over",
                     protocol::escape_name(st.target));
        st.restarting = true;
        self->send(st.job.conn, atom::cancel_v, query);
        return;
      }
      st.writer->set_source(size, mode, mtime_ns);
    },
    [self](atom::data, uint64_t query, uint64_t offset, std::string& bytes) {
      auto& st = self->state;
      if (!st.writer || st.write_error || st.restarting)
        return;
      auto n = st.writer->write(offset, bytes);
      if (!n) {
        // Stop the node; the get fails with our reason.
        st.write_error = n.error();
        self->send(st.job.conn, atom::cancel_v, query);
        return;
      }
      st.job.progress->done += bytes.size();
      self->send(st.job.conn, atom::ack_v, query);
    },
    [self](atom::get) -> caf::result<uint64_t, std::string> {
      auto& st = self->state;
      auto w = prepare(st);
      if (!w) {
        st.made.rollback();
        self->quit();
        return to_error(w.error());
      }
      st.writer = std::move(*w);
      uint64_t offset = 0;
      if (st.job.resume && !st.job.tree) {
        auto n = resume_offset(st);
        if (!n) {
          st.writer.reset();
          st.made.rollback();
          self->quit();
          return to_error(n.error());
        }
        offset = *n;
      }
      st.promise = self->make_response_promise<uint64_t, std::string>();
      end_with_connection(self, st.job.conn, end_download);
      request_file(self, offset);
      return st.promise;
    },
  };
}

namespace {

using upload_ptr = upload_actor::stateful_pointer<upload_state>;

void end_upload(upload_ptr self, caf::error err) {
  self->state.promise.deliver(std::move(err));
  self->quit();
}

/// Sends the file from where the reader stands: 0, or the verified prefix
/// the node holds for a resume (`offset`, already read and hashed).
void send_file(upload_ptr self, uint64_t offset) {
  auto& st = self->state;
  st.job.progress->done += offset;
  uint8_t flags = protocol::transfer_tree;
  if (!st.job.tree)
    flags = protocol::transfer_meta
            | (st.job.resume ? protocol::transfer_resume : 0);
  auto source = caf::actor_cast<upload_source_actor>(self);
  self->request(st.job.conn, caf::infinite, atom::put_v, st.job.origin,
                st.job.path, st.reader->size(), flags, st.reader->mode(),
                st.reader->mtime_ns(), source)
    .then([self](uint64_t n) {
            self->state.promise.deliver(n);
            self->quit();
          },
          [self](caf::error& err) { end_upload(self, std::move(err)); });
}

/// put --resume found nothing to continue after the reader hashed a
/// prefix: send the whole file with a fresh reader (the node drops its
/// partial file), which must be the file first opened.
void start_over(upload_ptr self) {
  auto& st = self->state;
  auto r = node::file_reader::open_local(st.job.local);
  if (!r)
    return end_upload(self, to_error(r.error()));
  if ((*r)->size() != st.reader->size()
      || (*r)->mtime_ns() != st.reader->mtime_ns())
    return end_upload(self, make_error(wire_code::io_error,
                                       protocol::escape_name(st.job.local)
                                         + " changed while the put "
                                           "resumed; run put again"));
  st.reader = std::move(*r);
  send_file(self, 0);
}

/// put --resume: how much of the node's partial file (named by this
/// file's size and mtime) hashes the same as our prefix. The reader hashes
/// that prefix and goes on from there, so it is read once.
void find_resume_offset(upload_ptr self) {
  auto& st = self->state;
  auto name = protocol::split_node_path(st.job.path);
  if (!name || name->empty())
    return send_file(self, 0);
  auto partial = protocol::join_path(
    protocol::parent_path(st.job.path),
    node::partial_name(name->back(),
                       {st.reader->size(), st.reader->mtime_ns()}));
  self->request(st.job.conn, caf::infinite, atom::stat_v, st.job.origin,
                partial)
    .then(
      [self](protocol::entry& x) {
        auto& st = self->state;
        auto shown = protocol::escape_name(st.job.local) + " -> "
                     + protocol::escape_name(st.job.path);
        if (x.type != protocol::entry_type::file
            || x.size > st.reader->size())
          return send_file(self, 0);
        auto mine = st.reader->hash_prefix(x.size);
        if (!mine || (x.sha256 && *mine != *x.sha256)) {
          spdlog::info("put --resume {}: the node's partial file differs, "
                       "starting over", shown);
          return start_over(self); // the node drops it
        }
        spdlog::info("put --resume {}: the node holds {} verified bytes",
                     shown, x.size);
        send_file(self, x.size);
      },
      [self](caf::error&) { send_file(self, 0); });
}

} // namespace

upload_actor::behavior_type
upload(upload_actor::stateful_pointer<upload_state> self, upload_job job) {
  self->state.job = std::move(job);
  return {
    [self](atom::read, uint64_t max_bytes) -> caf::result<node::file_chunk> {
      auto& st = self->state;
      if (!st.reader)
        return make_error(wire_code::internal, "upload not started");
      st.reader->limit_chunks(max_bytes);
      auto x = st.reader->next();
      if (!x)
        return to_error(x.error());
      st.job.progress->done += x->data.size();
      return std::move(*x);
    },
    [self](atom::put) -> caf::result<uint64_t> {
      auto& st = self->state;
      auto r = st.job.tree ? node::file_reader::open_tree_local(st.job.local)
                           : node::file_reader::open_local(st.job.local);
      if (!r) {
        self->quit();
        return to_error(r.error());
      }
      st.reader = std::move(*r);
      st.job.progress->total += st.reader->size();
      st.promise = self->make_response_promise<uint64_t>();
      end_with_connection(self, st.job.conn, end_upload);
      if (st.job.resume && !st.job.tree)
        find_resume_offset(self);
      else
        send_file(self, 0);
      return self->state.promise;
    },
  };
}

} // namespace dirscope

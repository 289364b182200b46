#include "actors/server/transfer.hpp"

#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/exit_reason.hpp>

#include "actors/error.hpp"
#include "node/confine.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"

namespace dirscope {

namespace {

/// mkdir -p for a plain local path (the operator's own choice).
outcome<node::unique_fd> open_local_dir(const std::string& dir) {
  if (dir.empty())
    return node::unique_fd{::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  std::string prefix;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    prefix = dir.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0
        && errno != EEXIST)
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
    auto fd = open_local_dir(dir_shown);
    if (!fd)
      return fd.error();
    dir = std::move(*fd);
  } else {
    // A node-chosen name never leaves the download directory: every
    // component is checked and opened with O_NOFOLLOW beneath it.
    auto base = open_local_dir(job.download_dir);
    if (!base)
      return base.error();
    std::vector<std::string> components{job.node};
    components.insert(components.end(), parts->begin(), parts->end() - 1);
    auto fd = node::make_dirs_beneath(base->get(), components);
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
                                          job.query);
  return node::file_writer::create(std::move(dir), name,
                                   protocol::escape_name(st.target),
                                   job.force, job.query);
}

} // namespace

namespace {

/// A transfer ends with its connection, whichever way that goes: the
/// detached actor must never outlive it waiting for an answer (a quit would
/// hang in ~actor_system).
template <class Self>
void end_with_connection(Self* self, const node_connection_actor& conn) {
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto err = msg.reason && msg.reason != caf::exit_reason::normal
                 ? msg.reason
                 : make_error(wire_code::io_error,
                              "the node connection closed");
    self->state.promise.deliver(err);
    self->quit();
  });
  self->monitor(conn);
}

} // namespace

download_actor::behavior_type
download(download_actor::stateful_pointer<download_state> self,
         download_job job) {
  self->state.job = std::move(job);
  return {
    [self](atom::data, uint64_t query, uint64_t offset, std::string& bytes) {
      auto& st = self->state;
      if (!st.writer || st.write_error)
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
        self->quit();
        return to_error(w.error());
      }
      st.writer = std::move(*w);
      st.promise = self->make_response_promise<uint64_t, std::string>();
      end_with_connection(self, st.job.conn);
      auto sink = caf::actor_cast<transfer_sink_actor>(self);
      self->request(st.job.conn, caf::infinite, atom::get_v, st.job.query,
                    st.job.path, uint64_t{0}, st.job.tree, sink)
        .then(
          [self](uint64_t size, protocol::sha256_digest& sha256) {
            auto& st = self->state;
            if (st.write_error) {
              st.promise.deliver(to_error(*st.write_error));
            } else if (auto n = st.writer->commit(size, sha256); !n) {
              st.promise.deliver(to_error(n.error()));
            } else {
              st.promise.deliver(*n, protocol::escape_name(st.target));
            }
            st.writer.reset(); // removes the temporary file, if any
            self->quit();
          },
          [self](caf::error& err) {
            auto& st = self->state;
            st.promise.deliver(st.write_error ? to_error(*st.write_error)
                                              : std::move(err));
            st.writer.reset();
            self->quit();
          });
      return st.promise;
    },
  };
}

upload_actor::behavior_type
upload(upload_actor::stateful_pointer<upload_state> self, upload_job job) {
  self->state.job = std::move(job);
  return {
    [self](atom::read) -> caf::result<node::file_chunk> {
      auto& st = self->state;
      if (!st.reader)
        return make_error(wire_code::internal, "upload not started");
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
      end_with_connection(self, st.job.conn);
      auto source = caf::actor_cast<upload_source_actor>(self);
      self->request(st.job.conn, caf::infinite, atom::put_v, st.job.query,
                    st.job.path, st.reader->size(), st.job.tree, source)
        .then(
          [self](uint64_t n) {
            self->state.promise.deliver(n);
            self->quit();
          },
          [self](caf::error& err) {
            self->state.promise.deliver(std::move(err));
            self->quit();
          });
      return self->state.promise;
    },
  };
}

} // namespace dirscope

#include "actors/client/fs_worker.hpp"

#include "actors/client/finder.hpp"

#include "actors/error.hpp"
#include "node/file_ops.hpp"
#include "node/find_walk.hpp"
#include "node/listing.hpp"
#include "node/transfer.hpp"

namespace dirscope {

fs_worker_actor::behavior_type
fs_worker(fs_worker_actor::stateful_pointer<fs_worker_state> self,
          std::shared_ptr<const node::unique_fd> root,
          std::shared_ptr<node::hash_cache> cache, size_t sort_limit,
          std::shared_ptr<const std::atomic<bool>> stopping) {
  self->state.root = std::move(root);
  self->state.cache = std::move(cache);
  self->state.sort_limit = sort_limit;
  self->state.stopping = std::move(stopping);
  return {
    [self](atom::open, const std::string& path) -> caf::result<dir_cursor_ptr> {
      auto& st = self->state;
      auto cursor = node::dir_cursor::open(st.root->get(), path, st.sort_limit);
      if (!cursor)
        return to_error(cursor.error());
      return std::move(*cursor);
    },
    [self](atom::read, const dir_cursor_ptr& cursor,
           bool with_hashes) -> caf::result<node::listing_batch> {
      return cursor->next(protocol::max_entries_per_chunk,
                          protocol::chunk_byte_budget, with_hashes,
                          self->state.cache.get());
    },
    [self](atom::hash, const dir_cursor_ptr& cursor, const std::string& name,
           const node::file_key& key, const node::hash_job_ptr& job)
      -> caf::result<protocol::sha256_digest> {
      auto digest = node::hash_at(cursor->fd(), name, key,
                                  self->state.cache.get(),
                                  cursor->stop_flag(), &job->hashed);
      if (!digest)
        return to_error(digest.error());
      return *digest;
    },
    [self](atom::hash, const dir_cursor_ptr& cursor,
           node::listing_batch& batch) -> caf::result<node::listing_batch> {
      node::hash_pending(cursor->fd(), batch, self->state.cache.get(),
                         cursor->stop_flag(), cursor->hashed());
      return std::move(batch);
    },
    // -- find -----------------------------------------------------------------
    [self](atom::find,
           const protocol::find_request& req) -> caf::result<find_walk_ptr> {
      auto walk = node::find_walk::open(self->state.root->get(), req);
      if (!walk)
        return to_error(walk.error());
      return std::move(*walk);
    },
    [self](atom::find, const find_walk_ptr& walk) -> caf::result<node::find_batch> {
      return walk->next(protocol::max_entries_per_chunk,
                        protocol::chunk_byte_budget, finder_step_visits,
                        self->state.cache.get());
    },
    [self](atom::stat,
           const std::string& path) -> caf::result<protocol::entry> {
      auto& st = self->state;
      auto x = node::stat_entry(st.root->get(), path, true, st.cache.get(),
                                st.stopping.get());
      if (!x)
        return to_error(x.error());
      return std::move(*x);
    },
    [self](atom::stat, const std::string& path,
           uint64_t max_hash_size) -> caf::result<protocol::entry> {
      auto& st = self->state;
      auto x = node::stat_entry(st.root->get(), path, true, st.cache.get(),
                                st.stopping.get(), max_hash_size);
      if (!x)
        return to_error(x.error());
      return std::move(*x);
    },
    [self](atom::stat, const std::string& path,
           const node::hash_job_ptr& job) -> caf::result<protocol::entry> {
      auto& st = self->state;
      auto x = node::stat_entry(st.root->get(), path, true, st.cache.get(),
                                &job->stop, UINT64_MAX, &job->hashed);
      if (!x)
        return to_error(x.error());
      return std::move(*x);
    },
    [self](atom::du,
           const std::string& path) -> caf::result<protocol::du_reply> {
      auto u = node::disk_usage(self->state.root->get(), path);
      if (!u)
        return to_error(u.error());
      return protocol::du_reply{0, u->type, u->bytes, u->files, u->dirs};
    },
    [self](atom::remove, const std::string& path,
           bool recursive) -> caf::result<uint64_t> {
      auto n = node::remove_beneath(self->state.root->get(), path, recursive);
      if (!n)
        return to_error(n.error());
      return *n;
    },
    // -- transfers ------------------------------------------------------------
    [self](atom::get, const std::string& path, uint64_t offset,
           bool tree) -> caf::result<node::file_reader_ptr> {
      auto r = tree ? node::file_reader::open_tree_beneath(
                 self->state.root->get(), path)
                    : node::file_reader::open_beneath(self->state.root->get(),
                                                      path, offset);
      if (!r)
        return to_error(r.error());
      return std::move(*r);
    },
    [self](atom::read,
           const node::file_reader_ptr& reader) -> caf::result<node::file_chunk> {
      auto x = reader->next(self->state.stopping.get());
      if (!x)
        return to_error(x.error());
      return std::move(*x);
    },
    [self](atom::put, uint64_t id, const std::string& path,
           bool tree) -> caf::result<node::file_writer_ptr> {
      auto w = node::create_beneath(self->state.root->get(), path, id, tree);
      if (!w)
        return to_error(w.error());
      return std::move(*w);
    },
    [self](atom::put, uint64_t id, const std::string& path, uint64_t size,
           uint32_t mode, int64_t mtime_ns,
           bool resume) -> caf::result<node::file_writer_ptr> {
      auto w = node::create_beneath(self->state.root->get(), path, id);
      if (!w)
        return to_error(w.error());
      (*w)->set_source(size, mode, mtime_ns);
      if (resume)
        if (auto held = (*w)->resume(); !held)
          return to_error(held.error());
      return std::move(*w);
    },
    [](atom::write, const node::file_writer_ptr& writer, uint64_t offset,
       const std::string& bytes) -> caf::result<uint64_t> {
      auto n = writer->write(offset, bytes);
      if (!n)
        return to_error(n.error());
      return *n;
    },
    [](atom::commit, const node::file_writer_ptr& writer, uint64_t size,
       const protocol::sha256_digest& sha256) -> caf::result<uint64_t> {
      auto n = writer->commit(size, sha256);
      if (!n)
        return to_error(n.error());
      return *n;
    },
  };
}

} // namespace dirscope

// The lister's routing of hashes (issue 10): small files are hashed in one
// message per batch on the ordinary workers, a large file on a bulk worker,
// so a long hash never sits in front of the ordinary workers' short jobs
// (stat, reads); and while it runs the listing reports progress.
//
// The bulk worker here is a fake that keeps each hash request open until
// the test answers it: a hash that takes as long as the test wants.

#include <filesystem>
#include <fstream>

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/client/fs_worker.hpp"
#include "actors/client/lister.hpp"
#include "node/confine.hpp"
#include "node/listing.hpp"
#include "node/sha256.hpp"
#include "tests/actors/fixture.hpp"

using namespace dirscope;
using namespace dirscope::test;
namespace fs = std::filesystem;

namespace {

/// What the fake connection and the fake bulk worker saw.
struct lanes_log {
  std::vector<protocol::entry> rows;
  bool done = false;
  std::vector<uint64_t> progress;
  /// hash_progress reports: (name, size, hashed).
  struct file_progress {
    std::string name;
    uint64_t size = 0;
    uint64_t hashed = 0;
  };
  std::vector<file_progress> hash_progress;
  /// The jobs the bulk worker was handed, per hash.
  std::vector<node::hash_job_ptr> jobs;
  /// Names the bulk worker was asked to hash, with their open requests.
  std::vector<std::string> bulk_hashes;
  std::vector<caf::typed_response_promise<protocol::sha256_digest>> open;
  size_t bulk_other = 0;
};

client_connection_actor::behavior_type
fake_conn(client_connection_actor::pointer, std::shared_ptr<lanes_log> log) {
  return {
    [log](atom::chunk, uint32_t, std::vector<protocol::entry>& xs) {
      log->rows.insert(log->rows.end(), xs.begin(), xs.end());
    },
    [log](atom::done, uint32_t, uint64_t, bool) { log->done = true; },
    [](atom::failed, uint32_t, const caf::error&) {},
    [](atom::goodbye, const caf::error&) {},
    [](atom::echo, const std::string&) {},
    [](atom::data, uint32_t, uint64_t, const std::string&) {},
    [](atom::done, uint32_t, uint64_t, const protocol::sha256_digest&) {},
    [](atom::ack, uint32_t) {},
    [](atom::commit, uint32_t, uint64_t) {},
    [](atom::meta, uint32_t, uint64_t, uint32_t, int64_t) {},
    [log](atom::progress, uint32_t, uint64_t hashed) {
      log->progress.push_back(hashed);
    },
    [log](atom::progress, uint32_t, const std::string& name, uint64_t size,
          uint64_t hashed) {
      log->hash_progress.push_back({name, size, hashed});
    },
    [](atom::chunk, uint32_t, std::vector<protocol::find_match>&) {},
    [](atom::done, uint32_t, uint64_t, uint64_t) {},
  };
}

caf::error refused() {
  return make_error(wire_code::internal, "not on the bulk lane");
}

fs_worker_actor::behavior_type
fake_bulk(fs_worker_actor::pointer self, std::shared_ptr<lanes_log> log) {
  return {
    [log](atom::open, const std::string&) -> caf::result<dir_cursor_ptr> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::read, const dir_cursor_ptr&,
          bool) -> caf::result<node::listing_batch> {
      ++log->bulk_other;
      return refused();
    },
    [self, log](atom::hash, const dir_cursor_ptr&, const std::string& name,
                const node::file_key&, const node::hash_job_ptr& job)
      -> caf::result<protocol::sha256_digest> {
      log->bulk_hashes.push_back(name);
      log->jobs.push_back(job);
      auto rp = self->make_response_promise<protocol::sha256_digest>();
      log->open.push_back(rp);
      return rp;
    },
    [log](atom::hash, const dir_cursor_ptr&,
          node::listing_batch&) -> caf::result<node::listing_batch> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::find,
          const protocol::find_request&) -> caf::result<find_walk_ptr> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::find, const find_walk_ptr&) -> caf::result<node::find_batch> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::stat, const std::string&) -> caf::result<protocol::entry> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::stat, const std::string&,
          uint64_t) -> caf::result<protocol::entry> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::stat, const std::string&,
          const node::hash_job_ptr&) -> caf::result<protocol::entry> {
      ++log->bulk_other;
      return refused();
    },
    // The test's own signal (a promise is delivered inside its actor):
    // every hash in progress ends with the digest 42, 0, 0, ...
    [log](atom::du, const std::string& what) -> caf::result<protocol::du_reply> {
      if (what != "finish hashes") {
        ++log->bulk_other;
        return refused();
      }
      protocol::sha256_digest digest{};
      digest[0] = 42;
      for (auto& rp : log->open)
        rp.deliver(digest);
      log->open.clear();
      return protocol::du_reply{};
    },
    [log](atom::remove, const std::string&, bool) -> caf::result<uint64_t> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::get, const std::string&, uint64_t,
          bool) -> caf::result<node::file_reader_ptr> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::read,
          const node::file_reader_ptr&) -> caf::result<node::file_chunk> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::put, uint64_t, const std::string&,
          bool) -> caf::result<node::file_writer_ptr> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::put, uint64_t, const std::string&, uint64_t, uint32_t,
          int64_t, bool) -> caf::result<node::file_writer_ptr> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::write, const node::file_writer_ptr&, uint64_t,
          const std::string&) -> caf::result<uint64_t> {
      ++log->bulk_other;
      return refused();
    },
    [log](atom::commit, const node::file_writer_ptr&, uint64_t,
          const protocol::sha256_digest&) -> caf::result<uint64_t> {
      ++log->bulk_other;
      return refused();
    },
  };
}

struct lanes_fixture : fixture {
  fs::path root;
  std::shared_ptr<lanes_log> log = std::make_shared<lanes_log>();
  worker_pool pool;
  client_connection_actor conn;

  lanes_fixture() {
    std::string tmpl = (fs::temp_directory_path() / "dirscope-lanes-XXXXXX");
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
    for (auto name : {"a", "b", "d"})
      file(name, std::string(4096, name[0]));
    // One byte over the limit: a bulk job.
    file("c-big", std::string(node::small_hash_limit + 1, 'c'));
    auto fd = node::open_root(root.string());
    REQUIRE(fd);
    auto root_fd = std::make_shared<const node::unique_fd>(std::move(*fd));
    auto cache = std::make_shared<node::hash_cache>();
    for (int i = 0; i < 2; ++i)
      pool.workers.push_back(
        track(sys.spawn(fs_worker, root_fd, cache, size_t{100'000},
                        std::make_shared<std::atomic<bool>>(false))));
    pool.bulk.push_back(track(sys.spawn(fake_bulk, log)));
    conn = track(sys.spawn(fake_conn, log));
  }

  ~lanes_fixture() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  void file(const std::string& name, const std::string& content) {
    std::ofstream out{root / name, std::ios::binary};
    out << content;
  }

  /// Ends the bulk worker's hashes in progress.
  void finish_hashes() {
    request<protocol::du_reply>(pool.bulk.front(), atom::du_v,
                                std::string{"finish hashes"});
    run();
  }

  lister_actor start_listing(bool late_rows = false,
                             bool hash_progress = false) {
    lister_config config;
    config.with_hashes = true;
    config.late_rows = late_rows;
    config.hash_progress = hash_progress;
    config.max_chunk_bytes = 32'000;
    auto hdl = track(sys.spawn(lister, conn, pool, uint32_t{7},
                               std::string{"/"}, config));
    run();
    return hdl;
  }
};

const protocol::entry* row(const std::vector<protocol::entry>& xs,
                           const std::string& name) {
  for (auto& x : xs)
    if (x.name == name)
      return &x;
  return nullptr;
}

} // namespace

TEST_CASE_METHOD(lanes_fixture,
                 "lister: a large file is hashed on a bulk worker, small "
                 "files on the ordinary ones",
                 "[client][lister]") {
  start_listing();
  // Only the large file went to the bulk lane; nothing else did.
  REQUIRE(log->bulk_hashes == std::vector<std::string>{"c-big"});
  CHECK(log->bulk_other == 0);
  // The listing waits for it (rows keep their order), but the ordinary
  // workers are free: a stat routed to either one is answered at once.
  CHECK_FALSE(log->done);
  for (auto& worker : pool.workers) {
    auto st = request<protocol::entry>(worker, atom::stat_v,
                                       std::string{"/a"});
    run();
    REQUIRE(st->done());
    REQUIRE(st->value);
    CHECK(st->get().sha256 == node::sha256_bytes(std::string(4096, 'a')));
  }
  finish_hashes();
  protocol::sha256_digest digest{};
  digest[0] = 42;
  REQUIRE(log->done);
  REQUIRE(log->rows.size() == 4);
  CHECK(row(log->rows, "c-big")->sha256 == digest);
  for (auto name : {"a", "b", "d"}) {
    INFO(name);
    REQUIRE(row(log->rows, name) != nullptr);
    CHECK(row(log->rows, name)->sha256
          == node::sha256_bytes(std::string(4096, name[0])));
  }
}

TEST_CASE_METHOD(lanes_fixture,
                 "lister: reports progress while a large file is hashed",
                 "[client][lister]") {
  start_listing();
  REQUIRE(log->bulk_hashes.size() == 1);
  CHECK(log->progress.empty());
  // No row can go out before the large file's (rows keep their order): the
  // listing says it lives, once per interval.
  advance(lister_progress_interval);
  REQUIRE(log->progress.size() == 1);
  CHECK(log->rows.empty());
  advance(lister_progress_interval);
  CHECK(log->progress.size() == 2);
  auto reports = log->progress.size();
  finish_hashes();
  REQUIRE(log->done);
  // No reports after the hash ended.
  advance(lister_progress_interval * 3);
  CHECK(log->progress.size() == reports);
}

// -- late rows (issue 10 item 2) ----------------------------------------------

TEST_CASE_METHOD(lanes_fixture,
                 "lister: with late rows, other rows go out while a large "
                 "file is hashed, its row once the hash is done",
                 "[client][lister]") {
  start_listing(true, true);
  REQUIRE(log->bulk_hashes == std::vector<std::string>{"c-big"});
  // Within the grace period the batch keeps waiting (a quick hash keeps
  // its place in name order)...
  CHECK(log->rows.empty());
  // ... then the other rows go out without it.
  advance(late_row_grace);
  REQUIRE(log->rows.size() == 3);
  CHECK(log->rows[0].name == "a");
  CHECK(log->rows[1].name == "b");
  CHECK(log->rows[2].name == "d");
  for (auto& x : log->rows)
    CHECK(x.sha256 == node::sha256_bytes(std::string(4096, x.name[0])));
  CHECK_FALSE(log->done);
  // While it hashes, each interval reports the file and its bytes.
  log->jobs.front()->hashed = 12345;
  advance(lister_hash_progress_interval);
  REQUIRE_FALSE(log->hash_progress.empty());
  CHECK(log->hash_progress.back().name == "c-big");
  CHECK(log->hash_progress.back().size == node::small_hash_limit + 1);
  CHECK(log->hash_progress.back().hashed == 12345);
  CHECK(log->progress.empty()); // no list_progress for such a server
  finish_hashes();
  REQUIRE(log->done);
  REQUIRE(log->rows.size() == 4);
  CHECK(log->rows[3].name == "c-big");
  protocol::sha256_digest digest{};
  digest[0] = 42;
  CHECK(log->rows[3].sha256 == digest);
}

TEST_CASE_METHOD(lanes_fixture,
                 "lister: a large file hashed within the grace period keeps "
                 "its place",
                 "[client][lister]") {
  start_listing(true, true);
  CHECK(log->rows.empty());
  finish_hashes();
  REQUIRE(log->done);
  REQUIRE(log->rows.size() == 4);
  std::vector<std::string> names;
  for (auto& x : log->rows)
    names.push_back(x.name);
  CHECK(names == std::vector<std::string>{"a", "b", "c-big", "d"});
}

TEST_CASE_METHOD(lanes_fixture,
                 "lister: without late rows (older servers) rows keep name "
                 "order however long the hash takes",
                 "[client][lister]") {
  start_listing(false, false);
  advance(late_row_grace * 10);
  CHECK(log->rows.empty());
  finish_hashes();
  REQUIRE(log->rows.size() == 4);
  CHECK(log->rows[2].name == "c-big");
}

// Hashes one file with the node library's sha256_fd, as a node does, and
// prints "<hex digest> <bytes> <seconds>" for bench/hash_bench.sh.

#include <chrono>
#include <cstdio>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/sha256.hpp"
#include "node/unique_fd.hpp"

using namespace dirscope;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  node::unique_fd fd{::open(argv[1], O_RDONLY | O_CLOEXEC)};
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  auto digest = node::sha256_fd(fd.get());
  auto stop = std::chrono::steady_clock::now();
  if (!digest) {
    std::fprintf(stderr, "%s: %s\n", argv[1], digest.error().message.c_str());
    return 1;
  }
  for (auto byte : *digest)
    std::printf("%02x", byte);
  std::printf(" %lld %.6f\n", static_cast<long long>(st.st_size),
              std::chrono::duration<double>(stop - start).count());
  return 0;
}

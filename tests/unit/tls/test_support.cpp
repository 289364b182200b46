#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace dirscope::tls::test {

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/dirscope-tls-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

endpoint make_endpoint(std::shared_ptr<context> ctx) {
  auto res = session::make(std::move(ctx));
  if (!res)
    FAIL("session::make: " << res.error().message);
  return endpoint{std::move(*res), {}, std::nullopt};
}

size_t transfer(endpoint& from, endpoint& to) {
  std::vector<uint8_t> wire;
  from.tls->drain(wire);
  if (!wire.empty() && !to.tls->failed()) {
    auto res = to.tls->feed(wire.data(), wire.size(), to.received);
    if (!res)
      to.error = res.error();
  }
  return wire.size();
}

void pump(endpoint& client, endpoint& server) {
  for (int round = 0; round < 100; ++round) {
    if (transfer(client, server) + transfer(server, client) == 0)
      return;
  }
  FAIL("sessions keep talking after 100 rounds");
}

pki_fixture::pki_fixture() {
  auto res = ensure_server_identity(state_dir(), {"dirscope.test"});
  if (!res)
    FAIL("ensure_server_identity: " << res.error().message);
  files = *res;
  auto fp = fingerprint_of_cert_file(files.server_cert);
  if (!fp)
    FAIL("fingerprint_of_cert_file: " << fp.error().message);
  fingerprint = *fp;
}

std::shared_ptr<context> pki_fixture::server(server_identity id) {
  id.cert_file = files.server_cert;
  id.key_file = files.server_key;
  auto res = context::make_server(id);
  if (!res)
    FAIL("make_server: " << res.error().message);
  return *res;
}

std::shared_ptr<context> pki_fixture::client(const client_trust& trust) {
  auto res = context::make_client(trust);
  if (!res)
    FAIL("make_client: " << res.error().message);
  return *res;
}

client_trust pki_fixture::ca_trust(const std::string& name) const {
  client_trust trust;
  trust.ca_file = files.ca_cert;
  trust.server_name = name;
  return trust;
}

std::vector<uint8_t> bytes_of(const std::string& text) {
  return {text.begin(), text.end()};
}

std::vector<uint8_t> pattern(size_t size, uint32_t seed) {
  std::vector<uint8_t> result(size);
  auto x = seed * 2654435761u + 1;
  for (auto& byte : result) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<uint8_t>(x);
  }
  return result;
}

} // namespace dirscope::tls::test

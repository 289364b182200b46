#include "api/operator_auth.hpp"

#include <string_view>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "api/http_reply.hpp"
#include "protocol/names.hpp"
#include "tls/pki.hpp"

namespace dirscope::api {

namespace {

constexpr size_t max_operator_name = 64;

/// The CN of a client certificate that verified against the CA (the
/// handshake refuses one that does not); empty without one.
std::string certificate_name(const httplib::Request& req) {
  if (req.ssl == nullptr)
    return {};
  auto* cert = SSL_get1_peer_certificate(req.ssl);
  if (cert == nullptr)
    return {};
  std::string result;
  if (SSL_get_verify_result(req.ssl) == X509_V_OK) {
    char cn[256] = {0};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                  NID_commonName, cn, sizeof(cn) - 1)
        > 0)
      result = cn;
  }
  X509_free(cert);
  return result;
}

} // namespace

std::string operator_of(const httplib::Request& req) {
  auto name = req.get_header_value("X-Dirscope-Operator");
  if (auto cn = certificate_name(req); !cn.empty())
    name = cn; // the certificate names its holder
  if (name.empty())
    return "api";
  if (name.size() > max_operator_name)
    name.resize(max_operator_name);
  return protocol::escape_name(name);
}

bool authorized(const httplib::Request& req, httplib::Response& res,
                const api_settings& settings) {
  if (!settings.client_ca_file.empty() && !certificate_name(req).empty())
    return true;
  auto header = req.get_header_value("Authorization");
  static constexpr std::string_view bearer = "Bearer ";
  auto given = header.size() > bearer.size()
                   && header.compare(0, bearer.size(), bearer) == 0
                 ? std::string_view{header}.substr(bearer.size())
                 : std::string_view{};
  if (tls::token_equal(given, settings.token))
    return true;
  spdlog::warn("api: refused {} {} from {}: {}", req.method, req.path,
               req.remote_addr,
               header.empty() ? "no operator token" : "wrong operator token");
  res.set_header("WWW-Authenticate", "Bearer realm=\"dirscope\"");
  reply_error(res, 401, wire_code::permission_denied,
              "the operator token is missing or wrong (Authorization: "
              "Bearer TOKEN; the token is in the server's state dir, "
              "operator.token)");
  return false;
}

} // namespace dirscope::api

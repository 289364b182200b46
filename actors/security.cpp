#include "actors/security.hpp"

#include <unistd.h>

#include "tls/pki.hpp"

namespace dirscope {

namespace {

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0)
    return "localhost";
  return buf;
}

} // namespace

outcome<server_security> prepare_server_security(const server_config& cfg) {
  server_security result;
  if (cfg.tls) {
    tls::server_identity id{cfg.cert_file, cfg.key_file, cfg.client_ca_file,
                            cfg.require_client_cert};
    if (cfg.cert_file.empty() != cfg.key_file.empty())
      return make_failure(wire_code::bad_request,
                          "--cert-file and --key-file go together");
    if (cfg.cert_file.empty()) {
      std::vector<std::string> names{hostname()};
      if (cfg.bind != "0.0.0.0" && cfg.bind != "::" && !cfg.bind.empty())
        names.push_back(cfg.bind);
      auto files = tls::ensure_server_identity(cfg.state_dir, names);
      if (!files)
        return files.error();
      id.cert_file = files->server_cert;
      id.key_file = files->server_key;
      result.ca_file = files->ca_cert;
      result.created = files->created;
      if (cfg.require_client_cert && id.client_ca_file.empty())
        id.client_ca_file = files->ca_cert;
    }
    if (cfg.require_client_cert && id.client_ca_file.empty())
      return make_failure(wire_code::bad_request,
                          "--require-client-cert needs --client-ca-file");
    auto ctx = tls::context::make_server(id);
    if (!ctx)
      return ctx.error();
    result.tls = std::move(*ctx);
    result.cert_file = id.cert_file;
    result.key_file = id.key_file;
    auto fingerprint = tls::fingerprint_of_cert_file(id.cert_file);
    if (!fingerprint)
      return fingerprint.error();
    result.fingerprint = std::move(*fingerprint);
  }
  if (cfg.require_token) {
    if (!cfg.enrollment_token.empty()) {
      result.token = cfg.enrollment_token;
    } else {
      auto token = tls::ensure_token(cfg.state_dir);
      if (!token)
        return token.error();
      result.token = std::move(*token);
      result.token_file = cfg.state_dir + "/enrollment.token";
    }
  }
  return result;
}

outcome<std::string> issue_client_certificate(const server_config& cfg) {
  auto files = tls::ensure_server_identity(cfg.state_dir, {hostname()});
  if (!files)
    return files.error();
  auto out_dir = cfg.state_dir + "/clients";
  auto issued = tls::issue_client_cert(cfg.state_dir, cfg.issue_client_cert,
                                       out_dir);
  if (!issued)
    return issued.error();
  return "issued " + issued->first + " and " + issued->second
         + "\nuse on the node: --cert-file=" + issued->first
         + " --key-file=" + issued->second + "\n";
}

outcome<std::shared_ptr<tls::context>>
prepare_client_tls(const client_config& cfg, const std::string& server_host) {
  if (!cfg.tls)
    return std::shared_ptr<tls::context>{};
  tls::client_trust trust{cfg.ca_file, cfg.server_fingerprint, server_host,
                          cfg.cert_file, cfg.key_file};
  return tls::context::make_client(trust);
}

} // namespace dirscope

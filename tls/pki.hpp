#pragma once

// Zero-setup identities, like SSH host keys: a private EC P-256 CA and a
// server certificate created on first start in a state directory, client
// certificates issued by that CA, certificate fingerprints for pinning and
// the enrollment token. Pure: no CAF, no sockets.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/outcome.hpp"

namespace dirscope::tls {

/// Paths of a server's identity inside its state directory.
struct identity_files {
  /// state_dir/ca.crt: the private CA; clients may trust it (`--ca`).
  std::string ca_cert;
  /// state_dir/ca.key (0600).
  std::string ca_key;
  /// state_dir/server.crt: what the server presents.
  std::string server_cert;
  /// state_dir/server.key (0600).
  std::string server_key;
  /// True if this call generated any of the files.
  bool created = false;
};

/// Creates `state_dir` (0700) if needed, then reuses ca.crt/ca.key and
/// server.crt/server.key from it or generates what is missing: a CA
/// ("dirscope CA <hostname>", 10 years) and a server certificate signed by
/// it (CN = first of `names`, 2 years, serverAuth) whose subjectAltName
/// holds "localhost", "127.0.0.1", "::1" and every entry of `names` (IP
/// literals as IP addresses, anything else as DNS names). A missing CA
/// regenerates everything. Existing files are never rewritten, even if
/// `names` changed: that would break every client's pin.
outcome<identity_files>
ensure_server_identity(const std::string& state_dir,
                       const std::vector<std::string>& names);

/// SHA-256 of the DER of the first certificate in a PEM file, as lowercase
/// hex with colons ("ab:cd:..."), the format of session::peer_fingerprint.
outcome<std::string> fingerprint_of_cert_file(const std::string& pem_file);

/// Brings a user-given SHA-256 fingerprint (hex, with or without colons,
/// any case, optional "sha256:" prefix, surrounding blanks) into the
/// canonical lowercase-with-colons form. Fails with bad_request unless it
/// holds exactly 32 bytes of hex.
outcome<std::string> normalize_fingerprint(std::string_view text);

/// Issues a client certificate for mutual TLS: a fresh EC P-256 key and a
/// certificate (CN = `name`, clientAuth, 2 years) signed by the CA in
/// `state_dir`. Writes out_dir/<name>.crt and out_dir/<name>.key (0600),
/// creating `out_dir` (0700) if needed. Returns {cert path, key path}.
outcome<std::pair<std::string, std::string>>
issue_client_cert(const std::string& state_dir, const std::string& name,
                  const std::string& out_dir);

/// Returns the enrollment token in state_dir/enrollment.token, creating
/// it (32 random bytes as 64 lowercase hex characters, mode 0600) if the
/// file does not exist yet.
/// `file` names another token in the state dir (the operator API's).
outcome<std::string> ensure_token(const std::string& state_dir,
                                  const std::string& file
                                  = "enrollment.token");

/// Compares two secrets in time that depends only on their lengths. An
/// empty secret never matches.
bool token_equal(std::string_view a, std::string_view b);

} // namespace dirscope::tls

#include "tls/pki.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/openssl_util.hpp"

namespace dirscope::tls {

namespace {

using detail::pkey_ptr;
using detail::x509_ptr;

constexpr int ca_days = 3650;
constexpr int leaf_days = 730;
constexpr size_t max_cn = 64; // ub-common-name

failure os_failure(const std::string& what, const std::string& path,
                   int err) {
  return make_failure(wire_code::io_error, what + " '" + path
                                             + "': " + std::strerror(err));
}

failure crypto_failure(const std::string& what) {
  return make_failure(wire_code::internal,
                      what + ": " + detail::openssl_errors());
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Creates `dir` (and its parents); a directory created here gets 0700.
outcome<bool> ensure_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(dir, ec))
    return true;
  auto parent = fs::path{dir}.parent_path();
  if (!parent.empty())
    fs::create_directories(parent, ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return os_failure("cannot create directory", dir, errno);
  if (!fs::is_directory(dir, ec))
    return os_failure("not a directory:", dir, ENOTDIR);
  return true;
}

// Writes `data` to a temporary file next to `path`, syncs it and moves it
// into place, so readers never see half a key. With `exclusive`, an
// existing `path` is kept and EEXIST reported as a false result.
outcome<bool> write_file_atomically(const std::string& path,
                                    const std::string& data, mode_t mode,
                                    bool exclusive = false) {
  auto tmp = path + ".tmp-XXXXXX";
  auto fd = ::mkstemp(tmp.data());
  if (fd < 0)
    return os_failure("cannot create", tmp, errno);
  auto bail = [&](const char* what) {
    auto err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return os_failure(what, path, err);
  };
  if (::fchmod(fd, mode) != 0)
    return bail("cannot set the mode of");
  for (size_t done = 0; done < data.size();) {
    auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return bail("cannot write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0)
    return bail("cannot sync");
  if (::close(fd) != 0) {
    auto err = errno;
    ::unlink(tmp.c_str());
    return os_failure("cannot write", path, err);
  }
  if (exclusive) {
    auto res = ::link(tmp.c_str(), path.c_str());
    auto err = errno;
    ::unlink(tmp.c_str());
    if (res == 0)
      return true;
    if (err == EEXIST)
      return false;
    return os_failure("cannot create", path, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = errno;
    ::unlink(tmp.c_str());
    return os_failure("cannot create", path, err);
  }
  return true;
}

outcome<x509_ptr> load_cert(const std::string& path) {
  std::string pem;
  if (auto err = detail::read_file(path, pem))
    return os_failure("cannot read certificate", path, err);
  ERR_clear_error();
  detail::bio_ptr bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  if (!cert)
    return make_failure(wire_code::bad_request,
                        "cannot load certificate '" + path
                          + "': " + detail::openssl_errors());
  return cert;
}

int no_passphrase(char*, int, int, void*) {
  return 0;
}

outcome<pkey_ptr> load_key(const std::string& path) {
  std::string pem;
  if (auto err = detail::read_file(path, pem))
    return os_failure("cannot read private key", path, err);
  ERR_clear_error();
  detail::bio_ptr bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  pkey_ptr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase,
                                       nullptr)};
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key)
    return make_failure(wire_code::bad_request,
                        "cannot load private key '" + path
                          + "': " + detail::openssl_errors());
  return key;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(std::max(len, 0L)));
}

outcome<std::string> pem_of(X509* cert) {
  detail::bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    return crypto_failure("cannot encode certificate");
  return bio_contents(bio.get());
}

outcome<std::string> pem_of(EVP_PKEY* key) {
  detail::bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio
      || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                  nullptr, nullptr)
           != 1)
    return crypto_failure("cannot encode private key");
  return bio_contents(bio.get());
}

outcome<pkey_ptr> make_key() {
  ERR_clear_error();
  pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  if (!key)
    return crypto_failure("cannot generate an EC P-256 key");
  return key;
}

// What distinguishes the certificates we issue.
struct cert_spec {
  std::string common_name;
  int days = leaf_days;
  bool is_ca = false;
  const char* key_usage = "critical,digitalSignature";
  const char* extended_key_usage = nullptr;
  std::vector<std::string> alt_names; // already validated
};

bool add_ext(X509* cert, X509V3_CTX* v3, int nid, const char* value) {
  auto* ext = X509V3_EXT_conf_nid(nullptr, v3, nid, value);
  if (ext == nullptr)
    return false;
  auto ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool add_alt_names(X509* cert, const std::vector<std::string>& names) {
  auto* gens = sk_GENERAL_NAME_new_null();
  if (gens == nullptr)
    return false;
  auto ok = true;
  for (auto& name : names) {
    auto* gen = GENERAL_NAME_new();
    if (gen == nullptr) {
      ok = false;
      break;
    }
    if (auto* ip = a2i_IPADDRESS(name.c_str())) {
      GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
    } else {
      ERR_clear_error();
      auto* dns = ASN1_IA5STRING_new();
      if (dns == nullptr
          || ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size()))
               != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(gen);
        ok = false;
        break;
      }
      GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
    }
    sk_GENERAL_NAME_push(gens, gen);
  }
  ok = ok
       && X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0,
                            X509V3_ADD_DEFAULT)
            == 1;
  GENERAL_NAMES_free(gens);
  return ok;
}

// Issues a certificate for `key`, signed by `issuer_key` (self-signed when
// `issuer` is null).
outcome<x509_ptr> make_cert(const cert_spec& spec, EVP_PKEY* key,
                            X509* issuer, EVP_PKEY* issuer_key) {
  ERR_clear_error();
  x509_ptr cert{X509_new()};
  if (!cert)
    return crypto_failure("cannot create a certificate");
  auto* x = cert.get();
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1)
    return crypto_failure("cannot draw a serial number");
  serial[0] = (serial[0] & 0x7f) | 0x01; // positive, never zero
  auto* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  auto serial_ok = bn != nullptr
                   && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))
                        != nullptr;
  BN_free(bn);
  auto* subject = X509_get_subject_name(x);
  auto& cn = spec.common_name;
  auto ok = serial_ok && X509_set_version(x, X509_VERSION_3) == 1
            && X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr
            && X509_time_adj_ex(X509_getm_notAfter(x), spec.days, 0, nullptr)
                 != nullptr
            && X509_NAME_add_entry_by_txt(
                 subject, "CN", MBSTRING_UTF8,
                 reinterpret_cast<const unsigned char*>(cn.data()),
                 static_cast<int>(cn.size()), -1, 0)
                 == 1
            && X509_set_issuer_name(x, issuer != nullptr
                                         ? X509_get_subject_name(issuer)
                                         : subject)
                 == 1
            && X509_set_pubkey(x, key) == 1;
  if (!ok)
    return crypto_failure("cannot fill in a certificate");
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer != nullptr ? issuer : x, x, nullptr, nullptr, 0);
  ok = add_ext(x, &v3, NID_basic_constraints,
               spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE")
       && add_ext(x, &v3, NID_key_usage, spec.key_usage)
       && add_ext(x, &v3, NID_subject_key_identifier, "hash")
       && (issuer == nullptr
           || add_ext(x, &v3, NID_authority_key_identifier, "keyid:always"))
       && (spec.extended_key_usage == nullptr
           || add_ext(x, &v3, NID_ext_key_usage, spec.extended_key_usage))
       && (spec.alt_names.empty() || add_alt_names(x, spec.alt_names));
  if (!ok)
    return crypto_failure("cannot add certificate extensions");
  if (X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256())
      <= 0)
    return crypto_failure("cannot sign a certificate");
  return cert;
}

bool valid_dns_name(const std::string& name) {
  if (name.empty() || name.size() > 253 || name.front() == '.'
      || name.front() == '-')
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '-' || c == '.' || c == '_';
  });
}

// "localhost", "127.0.0.1", "::1" and `names`, without duplicates.
outcome<std::vector<std::string>>
alt_names_for(const std::vector<std::string>& names) {
  std::vector<std::string> result;
  auto add = [&result](std::string name) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (std::find(result.begin(), result.end(), name) == result.end())
      result.push_back(std::move(name));
  };
  for (auto& name : names) {
    if (!detail::is_ip_literal(name) && !valid_dns_name(name))
      return make_failure(wire_code::bad_request,
                          "not a host name or IP address: '" + name + "'");
    add(name);
  }
  for (auto name : {"localhost", "127.0.0.1", "::1"})
    add(name);
  return result;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0')
    return "localhost";
  return buf;
}

struct key_and_cert {
  pkey_ptr key;
  x509_ptr cert;
};

outcome<key_and_cert> load_ca(const std::string& state_dir) {
  auto crt = state_dir + "/ca.crt";
  auto key = state_dir + "/ca.key";
  if (!exists(crt) || !exists(key))
    return make_failure(wire_code::io_error,
                        "no CA in '" + state_dir
                          + "' (start the server once to create it)");
  auto cert = load_cert(crt);
  if (!cert)
    return cert.error();
  auto pkey = load_key(key);
  if (!pkey)
    return pkey.error();
  if (X509_check_private_key(cert->get(), pkey->get()) != 1)
    return make_failure(wire_code::bad_request,
                        "'" + key + "' does not match '" + crt
                          + "': " + detail::openssl_errors());
  return key_and_cert{std::move(*pkey), std::move(*cert)};
}

// Writes key (0600) then certificate (0644): a certificate on disk always
// has its key.
outcome<bool> write_pair(const std::string& key_path, EVP_PKEY* key,
                         const std::string& cert_path, X509* cert) {
  auto key_pem = pem_of(key);
  if (!key_pem)
    return key_pem.error();
  auto res = write_file_atomically(key_path, *key_pem, 0600);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!res)
    return res;
  auto cert_pem = pem_of(cert);
  if (!cert_pem)
    return cert_pem.error();
  return write_file_atomically(cert_path, *cert_pem, 0644);
}

std::string trim(std::string_view text) {
  auto blank = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
  };
  while (!text.empty() && blank(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && blank(text.back()))
    text.remove_suffix(1);
  return std::string{text};
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i])
      return false;
  return true;
}

} // namespace

outcome<identity_files>
ensure_server_identity(const std::string& state_dir,
                       const std::vector<std::string>& names) {
  auto alt_names = alt_names_for(names);
  if (!alt_names)
    return alt_names.error();
  if (auto ok = ensure_dir(state_dir); !ok)
    return ok.error();
  identity_files files{state_dir + "/ca.crt", state_dir + "/ca.key",
                       state_dir + "/server.crt", state_dir + "/server.key",
                       false};
  auto have_ca = exists(files.ca_cert) && exists(files.ca_key);
  if (have_ca && exists(files.server_cert) && exists(files.server_key))
    return files;
  if (!have_ca) {
    auto key = make_key();
    if (!key)
      return key.error();
    cert_spec spec;
    spec.common_name = ("dirscope CA " + host_name()).substr(0, max_cn);
    spec.days = ca_days;
    spec.is_ca = true;
    spec.key_usage = "critical,keyCertSign,cRLSign";
    auto cert = make_cert(spec, key->get(), nullptr, nullptr);
    if (!cert)
      return cert.error();
    if (auto ok = write_pair(files.ca_key, key->get(), files.ca_cert,
                             cert->get());
        !ok)
      return ok.error();
  }
  auto ca = load_ca(state_dir);
  if (!ca)
    return ca.error();
  auto key = make_key();
  if (!key)
    return key.error();
  cert_spec spec;
  spec.common_name = alt_names->front();
  if (spec.common_name.size() > max_cn)
    spec.common_name = "dirscope server";
  spec.extended_key_usage = "serverAuth";
  spec.alt_names = std::move(*alt_names);
  auto cert = make_cert(spec, key->get(), ca->cert.get(), ca->key.get());
  if (!cert)
    return cert.error();
  if (auto ok = write_pair(files.server_key, key->get(), files.server_cert,
                           cert->get());
      !ok)
    return ok.error();
  files.created = true;
  return files;
}

outcome<std::string> fingerprint_of_cert_file(const std::string& pem_file) {
  auto cert = load_cert(pem_file);
  if (!cert)
    return cert.error();
  auto result = detail::fingerprint_of(cert->get());
  if (result.empty())
    return crypto_failure("cannot hash '" + pem_file + "'");
  return result;
}

outcome<std::string> normalize_fingerprint(std::string_view text) {
  auto input = trim(text);
  std::string_view rest = input;
  for (std::string_view prefix : {"sha256 fingerprint=", "sha256:"}) {
    if (starts_with_nocase(rest, prefix)) {
      rest.remove_prefix(prefix.size());
      break;
    }
  }
  std::string hex;
  for (auto c : rest) {
    if (c == ':')
      continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      hex.clear();
      break;
    }
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64)
    return make_failure(wire_code::bad_request,
                        "not a SHA-256 fingerprint (64 hex digits): '"
                          + input + "'");
  std::string result;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i > 0)
      result += ':';
    result.append(hex, i, 2);
  }
  return result;
}

outcome<std::pair<std::string, std::string>>
issue_client_cert(const std::string& state_dir, const std::string& name,
                  const std::string& out_dir) {
  auto safe = !name.empty() && name.size() <= max_cn && name.front() != '.'
              && std::all_of(name.begin(), name.end(), [](char c) {
                   auto u = static_cast<unsigned char>(c);
                   return std::isalnum(u) || c == '-' || c == '.' || c == '_';
                 });
  if (!safe)
    return make_failure(wire_code::bad_request,
                        "not a valid client name (letters, digits, '-', "
                        "'.', '_'; at most 64): '"
                          + name + "'");
  auto ca = load_ca(state_dir);
  if (!ca)
    return ca.error();
  if (auto ok = ensure_dir(out_dir); !ok)
    return ok.error();
  auto key = make_key();
  if (!key)
    return key.error();
  cert_spec spec;
  spec.common_name = name;
  spec.extended_key_usage = "clientAuth";
  auto cert = make_cert(spec, key->get(), ca->cert.get(), ca->key.get());
  if (!cert)
    return cert.error();
  auto cert_path = out_dir + "/" + name + ".crt";
  auto key_path = out_dir + "/" + name + ".key";
  if (auto ok = write_pair(key_path, key->get(), cert_path, cert->get()); !ok)
    return ok.error();
  return std::make_pair(cert_path, key_path);
}

outcome<std::string> ensure_token(const std::string& state_dir,
                                  const std::string& file) {
  if (auto ok = ensure_dir(state_dir); !ok)
    return ok.error();
  auto path = state_dir + "/" + file;
  // Two attempts: a concurrent creator may win the race in between.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string content;
    auto err = detail::read_file(path, content);
    if (err == 0) {
      auto token = trim(content);
      if (token.empty())
        return make_failure(wire_code::bad_request,
                            "token file '" + path + "' is empty");
      return token;
    }
    if (err != ENOENT)
      return os_failure("cannot read", path, err);
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
      return crypto_failure("cannot draw an enrollment token");
    auto token = detail::hex_with_colons(raw, sizeof(raw));
    token.erase(std::remove(token.begin(), token.end(), ':'), token.end());
    OPENSSL_cleanse(raw, sizeof(raw));
    auto created = write_file_atomically(path, token + "\n", 0600, true);
    if (!created)
      return created.error();
    if (*created)
      return token;
  }
  return make_failure(wire_code::io_error,
                      "cannot create token '" + path + "'");
}

bool token_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty())
    return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace dirscope::tls

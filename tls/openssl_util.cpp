#include "tls/openssl_util.hpp"

#include <cerrno>
#include <fstream>
#include <iterator>

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace dirscope::tls::detail {

std::string openssl_errors(const char* fallback) {
  std::string result;
  char buf[256];
  while (auto code = ERR_get_error()) {
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!result.empty())
      result += "; ";
    result += buf;
  }
  if (result.empty())
    result = fallback;
  return result;
}

std::string hex_with_colons(const unsigned char* data, size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string result;
  result.reserve(size * 3);
  for (size_t i = 0; i < size; ++i) {
    if (i > 0)
      result += ':';
    result += digits[data[i] >> 4];
    result += digits[data[i] & 0x0f];
  }
  return result;
}

std::string fingerprint_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &len) != 1)
    return {};
  return hex_with_colons(md, len);
}

std::string common_name_of(X509* cert) {
  if (cert == nullptr)
    return {};
  auto* name = X509_get_subject_name(cert);
  auto idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0)
    return {};
  auto* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  auto len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0)
    return {};
  std::string result(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return result;
}

bool is_ip_literal(const std::string& name) {
  auto* ip = a2i_IPADDRESS(name.c_str());
  if (ip == nullptr) {
    ERR_clear_error();
    return false;
  }
  ASN1_OCTET_STRING_free(ip);
  return true;
}

int read_file(const std::string& path, std::string& out) {
  errno = 0;
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return errno != 0 ? errno : ENOENT;
  out.assign(std::istreambuf_iterator<char>{in},
             std::istreambuf_iterator<char>{});
  if (in.bad())
    return errno != 0 ? errno : EIO;
  return 0;
}

} // namespace dirscope::tls::detail

#include "server/auth/tls_files.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace steward::server {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

absl::Status Invalid(absl::string_view flag, const std::string& file,
                     absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", file, ": ", what));
}

std::string Print(void (*print)(BIO*, const void*), const void* arg) {
  Bio out(BIO_new(BIO_s_mem()));
  if (!out) return "?";
  print(out.get(), arg);
  char* data = nullptr;
  long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
}

absl::StatusOr<std::string> ReadAll(absl::string_view flag,
                                    const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Invalid(flag, file, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Invalid(flag, file, "cannot be read");
  return text.str();
}

Bio MemoryBio(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

absl::StatusOr<TlsPem> ReadTlsFiles(const std::string& cert_file,
                                    const std::string& key_file,
                                    const std::string& client_ca_file) {
  TlsPem pem;
  pem.cert_file = cert_file;
  pem.key_file = key_file;
  pem.client_ca_file = client_ca_file;
  absl::StatusOr<std::string> cert = ReadAll("--tls-cert", cert_file);
  if (!cert.ok()) return cert.status();
  pem.cert = *std::move(cert);
  absl::StatusOr<std::string> key = ReadAll("--tls-key", key_file);
  if (!key.ok()) return key.status();
  pem.key = *std::move(key);
  if (!client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadAll("--tls-client-ca", client_ca_file);
    if (!ca.ok()) return ca.status();
    pem.client_ca = *std::move(ca);
  }
  return pem;
}

absl::StatusOr<std::string> InspectTls(const TlsPem& pem, absl::Time now) {
  Bio cert_bio = MemoryBio(pem.cert);
  Cert cert(cert_bio
                ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)
                : nullptr);
  if (!cert) {
    return Invalid("--tls-cert", pem.cert_file, "no PEM certificate in it");
  }
  Bio key_bio = MemoryBio(pem.key);
  Key key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr,
                                            nullptr)
                  : nullptr);
  if (!key) {
    return Invalid("--tls-key", pem.key_file,
                   "no unencrypted PEM private key in it");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Invalid(
        "--tls-key", pem.key_file,
        absl::StrCat("does not match the certificate in ", pem.cert_file));
  }
  time_t at = absl::ToTimeT(now);
  if (X509_cmp_time(X509_get0_notAfter(cert.get()), &at) < 0) {
    return Invalid("--tls-cert", pem.cert_file, "the certificate has expired");
  }
  if (X509_cmp_time(X509_get0_notBefore(cert.get()), &at) > 0) {
    return Invalid("--tls-cert", pem.cert_file,
                   "the certificate is not valid yet");
  }
  if (!pem.client_ca_file.empty()) {
    Bio ca_bio = MemoryBio(pem.client_ca);
    Cert ca(ca_bio ? PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr)
                   : nullptr);
    if (!ca) {
      return Invalid("--tls-client-ca", pem.client_ca_file,
                     "no PEM certificate in it");
    }
  }
  std::string subject = Print(
      [](BIO* out, const void* name) {
        X509_NAME_print_ex(out, static_cast<const X509_NAME*>(name), 0,
                           XN_FLAG_RFC2253);
      },
      X509_get_subject_name(cert.get()));
  std::string expires = Print(
      [](BIO* out, const void* time) {
        ASN1_TIME_print(out, static_cast<const ASN1_TIME*>(time));
      },
      X509_get0_notAfter(cert.get()));
  return absl::StrCat("subject ", subject, ", expires ", expires);
}

absl::StatusOr<std::string> InspectTlsFiles(const std::string& cert_file,
                                            const std::string& key_file,
                                            const std::string& client_ca_file) {
  absl::StatusOr<TlsPem> pem =
      ReadTlsFiles(cert_file, key_file, client_ca_file);
  if (!pem.ok()) return pem.status();
  return InspectTls(*pem, absl::Now());
}

}  // namespace steward::server

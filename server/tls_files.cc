#include "server/tls_files.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

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

}  // namespace

absl::StatusOr<std::string> InspectTlsFiles(const std::string& cert_file,
                                            const std::string& key_file,
                                            const std::string& client_ca_file) {
  Bio cert_bio(BIO_new_file(cert_file.c_str(), "r"));
  if (!cert_bio) return Invalid("--tls-cert", cert_file, "cannot be read");
  Cert cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return Invalid("--tls-cert", cert_file, "no PEM certificate in it");
  }
  Bio key_bio(BIO_new_file(key_file.c_str(), "r"));
  if (!key_bio) return Invalid("--tls-key", key_file, "cannot be read");
  Key key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return Invalid("--tls-key", key_file,
                   "no unencrypted PEM private key in it");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Invalid(
        "--tls-key", key_file,
        absl::StrCat("does not match the certificate in ", cert_file));
  }
  if (!client_ca_file.empty()) {
    Bio ca_bio(BIO_new_file(client_ca_file.c_str(), "r"));
    if (!ca_bio) {
      return Invalid("--tls-client-ca", client_ca_file, "cannot be read");
    }
    Cert ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
    if (!ca) {
      return Invalid("--tls-client-ca", client_ca_file,
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

}  // namespace steward::server

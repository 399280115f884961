// See signed_checkpoint.h.
#include "server/audit/signed_checkpoint.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/audit/key_file.h"
#include "server/audit/rows.h"
#include "server/store/sqlite/connection.h"

namespace steward::audit {
namespace {

constexpr absl::string_view kDomain("steward-audit-checkpoint-v1\0", 28);
constexpr size_t kSignatureBytes = 64;
// A PEM Ed25519 key is about 120 bytes; anything far larger is not one.
constexpr size_t kMaxKeyFileBytes = 16384;

void AppendBigEndian(std::string& out, int64_t value) {
  const uint64_t v = static_cast<uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

absl::StatusOr<std::string> KeyIdOf(EVP_PKEY* key) {
  uint8_t raw[32];
  size_t len = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32) {
    return absl::InvalidArgumentError("not an Ed25519 key");
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(raw, len, digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

bool IsEd25519(EVP_PKEY* key) { return EVP_PKEY_id(key) == EVP_PKEY_ED25519; }

// Reads a PEM key file; a private key must be readable by its owner only,
// like the audit key file.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path,
                                        bool private_key) {
  return internal::ReadKeyFile(path,
                               private_key ? "signing key file" : "key file",
                               private_key, kMaxKeyFileBytes);
}

std::string PemOf(EVP_PKEY* key, bool private_key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  absl::Cleanup free_bio = [bio] { BIO_free(bio); };
  const int ok = private_key
                     ? PEM_write_bio_PKCS8PrivateKey(bio, key, nullptr, nullptr,
                                                     0, nullptr, nullptr)
                     : PEM_write_bio_PUBKEY(bio, key);
  if (ok != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  if (private_key) OPENSSL_cleanse(data, static_cast<size_t>(len));
  return out;
}

std::optional<Hash> HashFromHex(absl::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  Hash h;
  std::memcpy(h.data(), bytes.data(), h.size());
  return h;
}

}  // namespace

std::string CheckpointMessage(int64_t seq, const Hash& head,
                              int64_t time_micros) {
  std::string out(kDomain);
  AppendBigEndian(out, seq);
  out.append(reinterpret_cast<const char*>(head.data()), head.size());
  AppendBigEndian(out, time_micros);
  return out;
}

// ---- CheckpointPublicKey ---------------------------------------------------

CheckpointPublicKey::CheckpointPublicKey(EVP_PKEY* key) : key_(key) {}

CheckpointPublicKey::CheckpointPublicKey(CheckpointPublicKey&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)),
      key_id_(std::move(other.key_id_)) {}

CheckpointPublicKey& CheckpointPublicKey::operator=(
    CheckpointPublicKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
    key_id_ = std::move(other.key_id_);
  }
  return *this;
}

CheckpointPublicKey::~CheckpointPublicKey() { EVP_PKEY_free(key_); }

absl::StatusOr<CheckpointPublicKey> CheckpointPublicKey::FromPem(
    absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  absl::Cleanup free_bio = [bio] { BIO_free(bio); };
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  if (key == nullptr || !IsEd25519(key)) {
    EVP_PKEY_free(key);
    return absl::InvalidArgumentError(
        "not a PEM Ed25519 public key (-----BEGIN PUBLIC KEY-----)");
  }
  CheckpointPublicKey result(key);
  absl::StatusOr<std::string> id = KeyIdOf(key);
  if (!id.ok()) return id.status();
  result.key_id_ = *std::move(id);
  return result;
}

absl::StatusOr<CheckpointPublicKey> CheckpointPublicKey::LoadFile(
    const std::string& path) {
  absl::StatusOr<std::string> pem = ReadKeyFile(path, /*private_key=*/false);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<CheckpointPublicKey> key = FromPem(*pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", key.status().message()));
  }
  return key;
}

std::string CheckpointPublicKey::Pem() const {
  return PemOf(key_, /*private_key=*/false);
}

bool CheckpointPublicKey::Verify(const SignedCheckpoint& checkpoint) const {
  if (checkpoint.key_id != key_id_ ||
      checkpoint.signature.size() != kSignatureBytes) {
    return false;
  }
  const std::string message = CheckpointMessage(checkpoint.seq, checkpoint.head,
                                                checkpoint.time_micros);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  absl::Cleanup free_ctx = [ctx] { EVP_MD_CTX_free(ctx); };
  if (EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key_) != 1) {
    return false;
  }
  return EVP_DigestVerify(
             ctx,
             reinterpret_cast<const unsigned char*>(
                 checkpoint.signature.data()),
             checkpoint.signature.size(),
             reinterpret_cast<const unsigned char*>(message.data()),
             message.size()) == 1;
}

// ---- CheckpointSigningKey --------------------------------------------------

CheckpointSigningKey::CheckpointSigningKey(EVP_PKEY* key,
                                           CheckpointPublicKey public_key)
    : key_(key), public_key_(std::move(public_key)) {}

CheckpointSigningKey::CheckpointSigningKey(
    CheckpointSigningKey&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)),
      public_key_(std::move(other.public_key_)) {}

CheckpointSigningKey& CheckpointSigningKey::operator=(
    CheckpointSigningKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
    public_key_ = std::move(other.public_key_);
  }
  return *this;
}

CheckpointSigningKey::~CheckpointSigningKey() { EVP_PKEY_free(key_); }

namespace {

// Wraps a private key, deriving its public half through a PEM round trip
// so the public key object never holds private material.
absl::StatusOr<CheckpointSigningKey> WrapPrivate(EVP_PKEY* key, auto make) {
  absl::Cleanup free_key = [key] { EVP_PKEY_free(key); };
  const std::string public_pem = PemOf(key, /*private_key=*/false);
  absl::StatusOr<CheckpointPublicKey> public_key =
      CheckpointPublicKey::FromPem(public_pem);
  if (!public_key.ok()) return public_key.status();
  std::move(free_key).Cancel();
  return make(key, *std::move(public_key));
}

}  // namespace

absl::StatusOr<CheckpointSigningKey> CheckpointSigningKey::Generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr)
    return absl::InternalError("Ed25519 key generation failed");
  return WrapPrivate(key, [](EVP_PKEY* k, CheckpointPublicKey pub) {
    return CheckpointSigningKey(k, std::move(pub));
  });
}

absl::StatusOr<CheckpointSigningKey> CheckpointSigningKey::FromPem(
    absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  absl::Cleanup free_bio = [bio] { BIO_free(bio); };
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  if (key == nullptr || !IsEd25519(key)) {
    EVP_PKEY_free(key);
    return absl::InvalidArgumentError(
        "not a PEM Ed25519 private key (-----BEGIN PRIVATE KEY-----)");
  }
  return WrapPrivate(key, [](EVP_PKEY* k, CheckpointPublicKey pub) {
    return CheckpointSigningKey(k, std::move(pub));
  });
}

absl::StatusOr<CheckpointSigningKey> CheckpointSigningKey::LoadFile(
    const std::string& path) {
  absl::StatusOr<std::string> pem = ReadKeyFile(path, /*private_key=*/true);
  if (!pem.ok()) return pem.status();
  absl::Cleanup wipe = [&pem] { OPENSSL_cleanse(pem->data(), pem->size()); };
  absl::StatusOr<CheckpointSigningKey> key = FromPem(*pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", key.status().message()));
  }
  return key;
}

std::string CheckpointSigningKey::PrivatePem() const {
  return PemOf(key_, /*private_key=*/true);
}

absl::StatusOr<SignedCheckpoint> CheckpointSigningKey::Sign(
    int64_t seq, const Hash& head, absl::Time time) const {
  SignedCheckpoint checkpoint;
  checkpoint.seq = seq;
  checkpoint.head = head;
  checkpoint.time_micros = absl::ToUnixMicros(time);
  checkpoint.key_id = key_id();
  const std::string message =
      CheckpointMessage(seq, head, checkpoint.time_micros);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return absl::InternalError("EVP_MD_CTX_new failed");
  absl::Cleanup free_ctx = [ctx] { EVP_MD_CTX_free(ctx); };
  checkpoint.signature.resize(kSignatureBytes);
  size_t len = checkpoint.signature.size();
  if (EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_) != 1 ||
      EVP_DigestSign(
          ctx, reinterpret_cast<unsigned char*>(checkpoint.signature.data()),
          &len, reinterpret_cast<const unsigned char*>(message.data()),
          message.size()) != 1 ||
      len != kSignatureBytes) {
    return absl::InternalError("Ed25519 signing failed");
  }
  return checkpoint;
}

// ---- Witness ---------------------------------------------------------------

std::string WitnessLine(const SignedCheckpoint& c) {
  return absl::StrCat("audit checkpoint seq=", c.seq, " head=", HashHex(c.head),
                      " time=", c.time_micros, " key=", c.key_id,
                      " sig=", absl::BytesToHexString(c.signature));
}

std::optional<SignedCheckpoint> ParseWitnessLine(absl::string_view line) {
  const size_t at = line.find("audit checkpoint seq=");
  if (at == absl::string_view::npos) return std::nullopt;
  line.remove_prefix(at + std::strlen("audit checkpoint "));
  SignedCheckpoint c;
  int found = 0;
  for (absl::string_view field :
       absl::StrSplit(line, ' ', absl::SkipWhitespace())) {
    const size_t eq = field.find('=');
    if (eq == absl::string_view::npos) break;
    const absl::string_view name = field.substr(0, eq);
    const absl::string_view value = field.substr(eq + 1);
    if (name == "seq") {
      if (!absl::SimpleAtoi(value, &c.seq) || c.seq < 0) return std::nullopt;
    } else if (name == "head") {
      std::optional<Hash> h = HashFromHex(value);
      if (!h.has_value()) return std::nullopt;
      c.head = *h;
    } else if (name == "time") {
      if (!absl::SimpleAtoi(value, &c.time_micros)) return std::nullopt;
    } else if (name == "key") {
      c.key_id = std::string(value);
    } else if (name == "sig") {
      if (value.size() != 2 * kSignatureBytes) return std::nullopt;
      for (char ch : value) {
        if (!absl::ascii_isxdigit(static_cast<unsigned char>(ch))) {
          return std::nullopt;
        }
      }
      c.signature = absl::HexStringToBytes(value);
    } else {
      break;
    }
    ++found;
    if (found == 5) return c;
  }
  return std::nullopt;
}

absl::Status AppendWitness(const std::string& path,
                           const SignedCheckpoint& checkpoint) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open witness file ", path,
                                            ": ", std::strerror(errno)));
  }
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  const std::string line = absl::StrCat(WitnessLine(checkpoint), "\n");
  // One write of a short line to an O_APPEND file: lines never interleave.
  const ssize_t n = ::write(fd, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    return absl::InternalError(absl::StrCat("cannot write witness file ", path,
                                            ": ", std::strerror(errno)));
  }
  if (::fsync(fd) != 0) {
    return absl::InternalError(absl::StrCat("cannot fsync witness file ", path,
                                            ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SignedCheckpoint>> LatestWitness(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::optional<SignedCheckpoint>();
    return absl::InternalError(absl::StrCat("cannot read witness file ", path));
  }
  std::optional<SignedCheckpoint> latest;
  std::string line;
  while (std::getline(in, line)) {
    std::optional<SignedCheckpoint> c = ParseWitnessLine(line);
    if (c.has_value() && (!latest.has_value() || c->seq >= latest->seq)) {
      latest = std::move(c);
    }
  }
  return latest;
}

AuditRecord NewSegmentRecord(absl::Time time, absl::string_view failure,
                             absl::string_view key_id) {
  AuditRecord record;
  record.time = time;
  record.kind = RecordKind::kRetentionPurge;  // "system"
  record.caller = "stewardd";
  record.action = "audit_new_segment";
  record.effect = RecordEffect::kOk;
  record.reason = "NEW_SEGMENT";
  nlohmann::json details = {{"failure", std::string(failure)},
                            {"key_id", std::string(key_id)}};
  record.details = details.dump();
  return record;
}

// ---- Storage ---------------------------------------------------------------

namespace internal {

using store::sqlite::Connection;
using store::sqlite::Statement;

absl::Status InsertSignedCheckpoint(Connection& connection,
                                    const SignedCheckpoint& c) {
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "INSERT INTO audit_signed_checkpoints (seq, head, time, key_id, "
      "signature) VALUES (?, ?, ?, ?, ?)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, c.seq);
  stmt->BindBlob(2, c.head);
  stmt->BindInt(3, c.time_micros);
  stmt->BindText(4, c.key_id);
  stmt->BindBlob(5, absl::MakeConstSpan(
                        reinterpret_cast<const uint8_t*>(c.signature.data()),
                        c.signature.size()));
  return stmt->Run();
}

namespace {

absl::StatusOr<SignedCheckpoint> ReadCheckpoint(const Statement& stmt) {
  SignedCheckpoint c;
  c.seq = stmt.Int(0);
  absl::StatusOr<Hash> head = ToHash(stmt.Blob(1));
  if (!head.ok()) return head.status();
  c.head = *head;
  c.time_micros = stmt.Int(2);
  c.key_id = std::string(stmt.Text(3));
  const absl::Span<const uint8_t> sig = stmt.Blob(4);
  c.signature.assign(reinterpret_cast<const char*>(sig.data()), sig.size());
  return c;
}

}  // namespace

absl::StatusOr<std::vector<SignedCheckpoint>> LoadSignedCheckpoints(
    Connection& connection) {
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "SELECT seq, head, time, key_id, signature FROM "
      "audit_signed_checkpoints ORDER BY seq");
  if (!stmt.ok()) return stmt.status();
  std::vector<SignedCheckpoint> out;
  absl::Status s = store::sqlite::ForEachRow(*stmt, [&](const Statement& row) {
    absl::StatusOr<SignedCheckpoint> c = ReadCheckpoint(row);
    if (!c.ok()) return c.status();
    out.push_back(*std::move(c));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<SignedCheckpoint>> LastSignedCheckpoint(
    Connection& connection) {
  absl::StatusOr<Statement> stmt = connection.Prepare(
      "SELECT seq, head, time, key_id, signature FROM "
      "audit_signed_checkpoints ORDER BY seq DESC LIMIT 1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<SignedCheckpoint>();
  absl::StatusOr<SignedCheckpoint> c = ReadCheckpoint(*stmt);
  if (!c.ok()) return c.status();
  return std::optional<SignedCheckpoint>(*std::move(c));
}

}  // namespace internal
}  // namespace steward::audit

// See checkpoint_signature.h.
#include "client/checkpoint_signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace steward::client {
namespace {

constexpr absl::string_view kDomain("steward-audit-checkpoint-v1\0", 28);

void AppendBigEndian(std::string& out, int64_t value) {
  const uint64_t v = static_cast<uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

bool IsHex(absl::string_view text, size_t size) {
  if (text.size() != size) return false;
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

void CheckpointVerifier::Free::operator()(EVP_PKEY* key) const {
  EVP_PKEY_free(key);
}

absl::StatusOr<CheckpointVerifier> CheckpointVerifier::LoadFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  CheckpointVerifier verifier;
  verifier.key_.reset(raw);
  uint8_t bytes[32];
  size_t len = sizeof(bytes);
  if (raw == nullptr || EVP_PKEY_id(raw) != EVP_PKEY_ED25519 ||
      EVP_PKEY_get_raw_public_key(raw, bytes, &len) != 1 || len != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a PEM Ed25519 public key"));
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(bytes, len, digest);
  verifier.key_id_ = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));
  return verifier;
}

std::optional<std::string> CheckpointMessage(
    const v1::SignedCheckpoint& checkpoint) {
  if (checkpoint.head().size() != 32 || checkpoint.time().nanos() % 1000 != 0) {
    return std::nullopt;
  }
  std::string out(kDomain);
  AppendBigEndian(out, checkpoint.seq());
  out.append(checkpoint.head());
  AppendBigEndian(out, checkpoint.time().seconds() * 1000000 +
                           checkpoint.time().nanos() / 1000);
  return out;
}

bool CheckpointVerifier::Verify(const v1::SignedCheckpoint& checkpoint) const {
  if (checkpoint.key_id() != key_id_ || checkpoint.signature().size() != 64) {
    return false;
  }
  const std::optional<std::string> message = CheckpointMessage(checkpoint);
  if (!message.has_value()) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key_.get()) == 1 &&
      EVP_DigestVerify(
          ctx,
          reinterpret_cast<const unsigned char*>(checkpoint.signature().data()),
          checkpoint.signature().size(),
          reinterpret_cast<const unsigned char*>(message->data()),
          message->size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::optional<v1::SignedCheckpoint> ParseWitnessLine(absl::string_view line) {
  const size_t at = line.find("audit checkpoint seq=");
  if (at == absl::string_view::npos) return std::nullopt;
  line.remove_prefix(at + std::strlen("audit checkpoint "));
  const std::vector<absl::string_view> fields =
      absl::StrSplit(line, ' ', absl::SkipWhitespace());
  if (fields.size() < 5) return std::nullopt;
  const char* const kNames[] = {"seq=", "head=", "time=", "key=", "sig="};
  absl::string_view values[5];
  for (int i = 0; i < 5; ++i) {
    if (!absl::StartsWith(fields[i], kNames[i])) return std::nullopt;
    values[i] = fields[i].substr(std::strlen(kNames[i]));
  }
  v1::SignedCheckpoint c;
  int64_t seq = 0;
  int64_t micros = 0;
  if (!absl::SimpleAtoi(values[0], &seq) || seq < 0 || !IsHex(values[1], 64) ||
      !absl::SimpleAtoi(values[2], &micros) || micros < 0 ||
      !IsHex(values[4], 128)) {
    return std::nullopt;
  }
  c.set_seq(seq);
  c.set_head(absl::HexStringToBytes(values[1]));
  c.mutable_time()->set_seconds(micros / 1000000);
  c.mutable_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  c.set_key_id(std::string(values[3]));
  c.set_signature(absl::HexStringToBytes(values[4]));
  return c;
}

absl::StatusOr<std::optional<v1::SignedCheckpoint>> LatestWitness(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::optional<v1::SignedCheckpoint> latest;
  std::string line;
  while (std::getline(in, line)) {
    std::optional<v1::SignedCheckpoint> c = ParseWitnessLine(line);
    if (c.has_value() && (!latest.has_value() || c->seq() >= latest->seq())) {
      latest = std::move(c);
    }
  }
  return latest;
}

}  // namespace steward::client

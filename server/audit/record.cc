// See record.h.
#include "server/audit/record.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>
#include <type_traits>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace steward::audit {
namespace {

constexpr uint8_t kFormatVersion = 0x01;
constexpr uint8_t kTagNull = 0x00;
constexpr uint8_t kTagInt = 0x01;
constexpr uint8_t kTagText = 0x02;
constexpr uint8_t kTagBlob = 0x03;

class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(out) {}

  void Null() { out_->push_back(static_cast<char>(kTagNull)); }
  void Int(int64_t v) {
    out_->push_back(static_cast<char>(kTagInt));
    const uint64_t u = static_cast<uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out_->push_back(static_cast<char>((u >> shift) & 0xff));
    }
  }
  void Text(absl::string_view s) { Bytes(kTagText, s); }
  void Blob(absl::string_view s) { Bytes(kTagBlob, s); }
  void OptionalInt(const std::optional<int64_t>& v) {
    if (v.has_value()) {
      Int(*v);
    } else {
      Null();
    }
  }
  void OptionalText(const std::optional<std::string>& v) {
    if (v.has_value()) {
      Text(*v);
    } else {
      Null();
    }
  }

 private:
  void Bytes(uint8_t tag, absl::string_view s) {
    out_->push_back(static_cast<char>(tag));
    // Column values are bounded far below 4 GiB by the request limits.
    const uint32_t n = static_cast<uint32_t>(s.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      out_->push_back(static_cast<char>((n >> shift) & 0xff));
    }
    out_->append(s.data(), s.size());
  }

  std::string* out_;
};

// True when `s` needs no JSON escaping: printable ASCII other than '"' and
// '\\'. For such strings the JSON text is the string in quotes, exactly as
// nlohmann::json::dump writes it.
bool PlainJsonString(absl::string_view s) {
  for (const char c : s) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

std::string FieldsJson(const std::vector<std::string>& fields) {
  // Fast path for the usual field names; byte-for-byte what the general
  // path below produces (the canonical encoding covers this text).
  size_t size = 2;
  bool plain = true;
  for (const std::string& f : fields) {
    if (!PlainJsonString(f)) {
      plain = false;
      break;
    }
    size += f.size() + 3;
  }
  if (plain) {
    std::string out;
    out.reserve(size);
    out.push_back('[');
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.push_back('"');
      out.append(fields[i]);
      out.push_back('"');
    }
    out.push_back(']');
    return out;
  }
  nlohmann::json array = nlohmann::json::array();
  for (const std::string& f : fields) array.push_back(f);
  // Invalid UTF-8 is replaced rather than thrown on: the record must be
  // written whatever bytes a client sent.
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::string_view RecordKindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kDecision:
      return "decision";
    case RecordKind::kAdminChange:
      return "admin";
    case RecordKind::kAuthFailure:
      return "auth";
    case RecordKind::kRetentionPurge:
      return "system";
    case RecordKind::kPlan:
      return "plan";
  }
  return "system";
}

std::optional<RecordKind> ParseRecordKind(absl::string_view name) {
  if (name == "decision") return RecordKind::kDecision;
  if (name == "admin") return RecordKind::kAdminChange;
  if (name == "auth") return RecordKind::kAuthFailure;
  if (name == "system") return RecordKind::kRetentionPurge;
  if (name == "plan") return RecordKind::kPlan;
  return std::nullopt;
}

absl::string_view RecordEffectName(RecordEffect effect) {
  switch (effect) {
    case RecordEffect::kAllow:
      return "ALLOW";
    case RecordEffect::kDeny:
      return "DENY";
    case RecordEffect::kOk:
      return "OK";
    case RecordEffect::kFailed:
      return "FAILED";
  }
  return "FAILED";
}

std::optional<RecordEffect> ParseRecordEffect(absl::string_view name) {
  if (name == "ALLOW") return RecordEffect::kAllow;
  if (name == "DENY") return RecordEffect::kDeny;
  if (name == "OK") return RecordEffect::kOk;
  if (name == "FAILED") return RecordEffect::kFailed;
  return std::nullopt;
}

std::string CanonicalEncoding(const AuditRecord& record) {
  return internal::CanonicalEncoding(internal::ToStoredRow(record));
}

Hash ChainHash(const Hash& prev, absl::string_view canonical) {
  return internal::ChainHash(prev, absl::string_view(), canonical);
}

std::string HashHex(const Hash& hash) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(hash.data()), hash.size()));
}

namespace internal {

namespace {

// Copies or moves (R = AuditRecord or const AuditRecord) the record's
// values into their stored form.
template <typename R>
StoredRow ToStoredRowImpl(R& r) {
  constexpr bool kMove = !std::is_const_v<R>;
  auto take = [](auto& value) -> decltype(auto) {
    if constexpr (kMove) {
      return std::move(value);
    } else {
      return static_cast<const std::remove_reference_t<decltype(value)>&>(
          value);
    }
  };
  StoredRow row;
  row.seq = r.seq;
  row.time_micros = absl::ToUnixMicros(r.time);
  row.kind = std::string(RecordKindName(r.kind));
  if (!r.decision_id.empty()) row.decision_id = take(r.decision_id);
  row.caller = take(r.caller);
  row.principal = take(r.principal);
  row.action = take(r.action);
  row.resource_kind = take(r.resource_kind);
  row.resource_id = take(r.resource_id);
  row.resource_scope = take(r.resource_scope);
  row.effect = std::string(RecordEffectName(r.effect));
  row.reason = take(r.reason);
  row.rule_id = take(r.rule_id);
  row.policy_version = r.policy_version;
  row.store_revision = r.store_revision;
  row.request_id = take(r.request_id);
  row.fields_json = FieldsJson(r.fields);
  row.purpose = take(r.purpose);
  row.justification = take(r.justification);
  row.attributes = take(r.attributes);
  if (!r.key_id.empty()) row.key_id = take(r.key_id);
  row.details = take(r.details);
  if (r.totp_verified.has_value()) row.totp_verified = *r.totp_verified ? 1 : 0;
  return row;
}

}  // namespace

StoredRow ToStoredRow(const AuditRecord& r) { return ToStoredRowImpl(r); }

StoredRow ToStoredRow(AuditRecord&& r) { return ToStoredRowImpl(r); }

absl::StatusOr<AuditRecord> FromStoredRow(const StoredRow& row,
                                          const Hash& prev_hash,
                                          const Hash& hash) {
  AuditRecord r;
  r.seq = row.seq;
  r.time = absl::FromUnixMicros(row.time_micros);
  std::optional<RecordKind> kind = ParseRecordKind(row.kind);
  std::optional<RecordEffect> effect = ParseRecordEffect(row.effect);
  if (!kind.has_value() || !effect.has_value()) {
    return absl::DataLossError(
        absl::StrCat("audit record ", row.seq, " has an unknown kind/effect"));
  }
  r.kind = *kind;
  r.effect = *effect;
  r.decision_id = row.decision_id.value_or("");
  r.caller = row.caller;
  r.principal = row.principal;
  r.action = row.action;
  r.resource_kind = row.resource_kind;
  r.resource_id = row.resource_id;
  r.resource_scope = row.resource_scope;
  r.reason = row.reason;
  r.rule_id = row.rule_id;
  r.policy_version = row.policy_version;
  r.store_revision = row.store_revision;
  r.request_id = row.request_id;
  nlohmann::json fields = nlohmann::json::parse(row.fields_json, nullptr,
                                                /*allow_exceptions=*/false);
  if (fields.is_discarded() || !fields.is_array()) {
    return absl::DataLossError(
        absl::StrCat("audit record ", row.seq, " has malformed fields"));
  }
  for (const nlohmann::json& f : fields) {
    if (!f.is_string()) {
      return absl::DataLossError(
          absl::StrCat("audit record ", row.seq, " has malformed fields"));
    }
    r.fields.push_back(f.get<std::string>());
  }
  r.purpose = row.purpose;
  r.justification = row.justification;
  r.attributes = row.attributes;
  r.key_id = row.key_id.value_or("");
  r.details = row.details;
  if (row.totp_verified.has_value()) r.totp_verified = *row.totp_verified != 0;
  r.prev_hash = prev_hash;
  r.hash = hash;
  return r;
}

std::string CanonicalHead(int64_t seq) {
  std::string out;
  out.reserve(10);
  out.push_back(static_cast<char>(kFormatVersion));
  Encoder(&out).Int(seq);
  return out;
}

std::string CanonicalBody(const StoredRow& row) {
  std::string out;
  out.reserve(256 + row.fields_json.size() +
              (row.attributes ? row.attributes->size() : 0) +
              (row.details ? row.details->size() : 0));
  Encoder e(&out);
  e.Int(row.time_micros);
  e.Text(row.kind);
  e.OptionalText(row.decision_id);
  e.Text(row.caller);
  e.Text(row.principal);
  e.Text(row.action);
  e.Text(row.resource_kind);
  e.Text(row.resource_id);
  e.Text(row.resource_scope);
  e.Text(row.effect);
  e.Text(row.reason);
  e.Text(row.rule_id);
  e.OptionalInt(row.policy_version);
  e.OptionalInt(row.store_revision);
  e.Text(row.request_id);
  e.Text(row.fields_json);
  e.Text(row.purpose);
  e.Text(row.justification);
  if (row.attributes.has_value()) {
    e.Blob(*row.attributes);
  } else {
    e.Null();
  }
  e.OptionalText(row.key_id);
  e.OptionalText(row.details);
  e.OptionalInt(row.totp_verified);
  return out;
}

std::string CanonicalEncoding(const StoredRow& row) {
  return CanonicalHead(row.seq) + CanonicalBody(row);
}

Hash ChainHash(const Hash& prev, absl::string_view head,
               absl::string_view body) {
  // One EVP context per thread, reused, over a digest fetched once: the
  // one-shot SHA256() looks the algorithm up and allocates a context on
  // every call, which cost about half of the hashing on the writer thread.
  // The three parts are fed without copying them together.
  struct Digest {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Digest() {
      EVP_MD_CTX_free(ctx);
      EVP_MD_free(md);
    }
  };
  thread_local Digest digest;
  Hash out;
  unsigned int size = 0;
  if (digest.md == nullptr || digest.ctx == nullptr ||
      EVP_DigestInit_ex2(digest.ctx, digest.md, nullptr) != 1 ||
      EVP_DigestUpdate(digest.ctx, prev.data(), prev.size()) != 1 ||
      EVP_DigestUpdate(digest.ctx, head.data(), head.size()) != 1 ||
      EVP_DigestUpdate(digest.ctx, body.data(), body.size()) != 1 ||
      EVP_DigestFinal_ex(digest.ctx, out.data(), &size) != 1 ||
      size != out.size()) {
    // Only when OpenSSL cannot give a context (allocation failure): the
    // one-shot call, as before.
    std::string input(reinterpret_cast<const char*>(prev.data()), prev.size());
    input.append(head.data(), head.size());
    input.append(body.data(), body.size());
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
           out.data());
  }
  return out;
}

absl::Status ValidateRecord(const AuditRecord& r) {
  const bool decision = r.kind == RecordKind::kDecision;
  if ((decision || r.kind == RecordKind::kPlan) && r.decision_id.empty()) {
    return absl::InvalidArgumentError(
        "a decision or plan record needs a decision_id");
  }
  const bool allow_deny =
      r.effect == RecordEffect::kAllow || r.effect == RecordEffect::kDeny;
  if (decision != allow_deny) {
    return absl::InvalidArgumentError(
        "decision records have effect ALLOW/DENY, others OK/FAILED");
  }
  if (r.time < absl::UnixEpoch()) {
    return absl::InvalidArgumentError("audit record time before 1970");
  }
  if ((r.policy_version.has_value() && *r.policy_version < 0) ||
      (r.store_revision.has_value() && *r.store_revision < 0)) {
    return absl::InvalidArgumentError("negative policy version or revision");
  }
  if (r.details.has_value() && !nlohmann::json::accept(*r.details)) {
    return absl::InvalidArgumentError("audit record details are not JSON");
  }
  if (!r.key_id.empty() && !r.attributes.has_value()) {
    return absl::InvalidArgumentError("key_id set without attributes");
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace steward::audit

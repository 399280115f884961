// See record.h.
#include "server/audit/record.h"

#include <openssl/sha.h>

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

std::string FieldsJson(const std::vector<std::string>& fields) {
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
  }
  return "system";
}

std::optional<RecordKind> ParseRecordKind(absl::string_view name) {
  if (name == "decision") return RecordKind::kDecision;
  if (name == "admin") return RecordKind::kAdminChange;
  if (name == "auth") return RecordKind::kAuthFailure;
  if (name == "system") return RecordKind::kRetentionPurge;
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

StoredRow ToStoredRow(const AuditRecord& r) {
  StoredRow row;
  row.seq = r.seq;
  row.time_micros = absl::ToUnixMicros(r.time);
  row.kind = std::string(RecordKindName(r.kind));
  if (!r.decision_id.empty()) row.decision_id = r.decision_id;
  row.caller = r.caller;
  row.principal = r.principal;
  row.action = r.action;
  row.resource_kind = r.resource_kind;
  row.resource_id = r.resource_id;
  row.resource_scope = r.resource_scope;
  row.effect = std::string(RecordEffectName(r.effect));
  row.reason = r.reason;
  row.rule_id = r.rule_id;
  row.policy_version = r.policy_version;
  row.store_revision = r.store_revision;
  row.request_id = r.request_id;
  row.fields_json = FieldsJson(r.fields);
  row.purpose = r.purpose;
  row.justification = r.justification;
  row.attributes = r.attributes;
  if (!r.key_id.empty()) row.key_id = r.key_id;
  row.details = r.details;
  if (r.totp_verified.has_value()) row.totp_verified = *r.totp_verified ? 1 : 0;
  return row;
}

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
  // One-shot SHA256() over one buffer: the streaming SHA256_* calls are
  // deprecated in OpenSSL 3, and an EVP context per record costs more than
  // the copy.
  std::string input;
  input.reserve(prev.size() + head.size() + body.size());
  input.append(reinterpret_cast<const char*>(prev.data()), prev.size());
  input.append(head.data(), head.size());
  input.append(body.data(), body.size());
  Hash out;
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
         out.data());
  return out;
}

}  // namespace internal
}  // namespace steward::audit

// See pg_insert.h.
#include "server/audit/postgresql/pg_insert.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace steward::audit::internal {

const char kPgInsertSql[] =
    "INSERT INTO audit_records (chain, seq, time, kind, decision_id, "
    "caller, principal, action, resource_kind, resource_id, "
    "resource_scope, effect, reason, rule_id, policy_version, "
    "store_revision, request_id, fields, purpose, justification, "
    "attributes, key_id, details, totp_verified, prev_hash, hash) "
    "SELECT $1::text, r.* FROM unnest($2::bigint[], $3::bigint[], "
    "$4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
    "$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], "
    "$14::text[], $15::bigint[], $16::bigint[], $17::text[], $18::text[], "
    "$19::text[], $20::text[], $21::bytea[], $22::text[], $23::text[], "
    "$24::bigint[], $25::bytea[], $26::bytea[]) AS r";

absl::string_view HashBytes(const Hash& hash) {
  return absl::string_view(reinterpret_cast<const char*>(hash.data()),
                           hash.size());
}

void PgArrayBuilder::Text(absl::string_view value) {
  Separator();
  out_ += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out_ += '\\';
    out_ += c;
  }
  out_ += '"';
}

void PgArrayBuilder::OptionalText(const std::optional<std::string>& value) {
  if (value.has_value()) {
    Text(*value);
  } else {
    Null();
  }
}

void PgArrayBuilder::Int(int64_t value) {
  Separator();
  absl::StrAppend(&out_, value);
}

void PgArrayBuilder::OptionalInt(const std::optional<int64_t>& value) {
  if (value.has_value()) {
    Int(*value);
  } else {
    Null();
  }
}

// \x then two digits a byte, the backslash escaped for the array literal.
void PgArrayBuilder::Bytes(absl::string_view value) {
  Separator();
  out_ += "\"\\\\x";
  out_ += absl::BytesToHexString(value);
  out_ += '"';
}

void PgArrayBuilder::OptionalBytes(const std::optional<std::string>& value) {
  if (value.has_value()) {
    Bytes(*value);
  } else {
    Null();
  }
}

void PgArrayBuilder::Null() {
  Separator();
  out_ += "NULL";
}

std::string PgArrayBuilder::Finish() {
  if (out_.empty()) out_ += '{';
  out_ += '}';
  std::string done = std::move(out_);
  out_.clear();
  return done;
}

void PgInsertArrays::Add(const StoredRow& r, const Hash& prev, const Hash& h) {
  seq_.Int(r.seq);
  time_.Int(r.time_micros);
  kind_.Text(r.kind);
  decision_id_.OptionalText(r.decision_id);
  caller_.Text(r.caller);
  principal_.Text(r.principal);
  action_.Text(r.action);
  resource_kind_.Text(r.resource_kind);
  resource_id_.Text(r.resource_id);
  resource_scope_.Text(r.resource_scope);
  effect_.Text(r.effect);
  reason_.Text(r.reason);
  rule_id_.Text(r.rule_id);
  policy_version_.OptionalInt(r.policy_version);
  store_revision_.OptionalInt(r.store_revision);
  request_id_.Text(r.request_id);
  fields_.Text(r.fields_json);
  purpose_.Text(r.purpose);
  justification_.Text(r.justification);
  attributes_.OptionalBytes(r.attributes);
  key_id_.OptionalText(r.key_id);
  details_.OptionalText(r.details);
  totp_verified_.OptionalInt(r.totp_verified);
  prev_hash_.Bytes(HashBytes(prev));
  hash_.Bytes(HashBytes(h));
  ++rows_;
}

void PgInsertArrays::AppendTo(store::postgresql::Params& p) {
  for (PgArrayBuilder* a :
       {&seq_,         &time_,           &kind_,           &decision_id_,
        &caller_,      &principal_,      &action_,         &resource_kind_,
        &resource_id_, &resource_scope_, &effect_,         &reason_,
        &rule_id_,     &policy_version_, &store_revision_, &request_id_,
        &fields_,      &purpose_,        &justification_,  &attributes_,
        &key_id_,      &details_,        &totp_verified_,  &prev_hash_,
        &hash_}) {
    p.Text(a->Finish());
  }
  rows_ = 0;
}

absl::Status CheckPgStorableText(const StoredRow& r) {
  static const std::string kNone;
  const std::pair<const char*, const std::string*> texts[] = {
      {"decision_id", r.decision_id.has_value() ? &*r.decision_id : &kNone},
      {"caller", &r.caller},
      {"principal", &r.principal},
      {"action", &r.action},
      {"resource_kind", &r.resource_kind},
      {"resource_id", &r.resource_id},
      {"resource_scope", &r.resource_scope},
      {"reason", &r.reason},
      {"rule_id", &r.rule_id},
      {"request_id", &r.request_id},
      {"fields", &r.fields_json},
      {"purpose", &r.purpose},
      {"justification", &r.justification},
      {"key_id", r.key_id.has_value() ? &*r.key_id : &kNone},
      {"details", r.details.has_value() ? &*r.details : &kNone}};
  for (const auto& [column, value] : texts) {
    if (value->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("audit record has a NUL byte in ", column,
                       ", which the PostgreSQL trail cannot store"));
    }
  }
  return absl::OkStatus();
}

}  // namespace steward::audit::internal

// libFuzzer target for the Check path's request handling: the input is the
// wire body of a CheckRequest, taken as the server takes it — decoded
// (DecodeRequest: invalid UTF-8 named, never echoed), validated against
// the input limits (ValidateCheckRequest), bound once (BoundCheck) and
// evaluated against a small policy for a principal holding every role.
// Properties checked: no crash, no sanitizer report; a refused body gets
// a non-empty message that never repeats an unprintable string field;
// explain mode never changes the decision; the result does not depend on
// how often the same request is evaluated.
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "server/grpc/check_request.h"
#include "server/grpc/request_decoding.h"
#include "steward/v1/authorization.pb.h"

namespace {

using namespace steward::policy;  // NOLINT: test entry point

constexpr char kPolicy[] = R"(policy fuzz
principal { region: string?, level: int?, teams: set<string>? }
context { mfa: bool?, ip_zone: string? }
purposes { support_case, billing }
resource customer {
  attributes { owner: string?, region: string?, tier: int?, tags: set<string>? }
  fields { id, name, email pii, phone pii, notes }
  actions { read, update, export }
}
resource order {
  attributes { owner: string?, total: int? }
  fields { id, total }
  actions { read, cancel }
}
role viewer { allow read on customer fields { id, name } }
role agent extends viewer {
  allow read on customer fields { email, phone } for support_case
    when resource.region == principal.region
  deny export on customer unless context.mfa == true
}
role manager extends agent {
  allow update, export on customer when resource.tier >= 2 || "vip" in resource.tags
  allow read, cancel on order when resource.owner == principal.id && resource.total < 1000
  deny read on customer fields { notes } when context.ip_zone != "office"
}
)";

const Program& TheProgram() {
  static const auto* program = [] {
    const SourceFile file{"fuzz.policy", kPolicy};
    CompileOptions options;
    options.lint = false;
    CompileResult result = Compile({&file, 1}, options);
    if (!result.ok()) std::abort();
    return new std::shared_ptr<const Program>(result.program);
  }();
  return **program;
}

// Whether `message` repeats `value` where that matters: a value with a
// control or non-ASCII byte (what would corrupt a log line or a terminal).
// Printable values may coincide with the message's own prose, and the
// fuzzer finds such coincidences quickly.
bool MessageEchoes(const std::string& message, const std::string& value) {
  bool unprintable = false;
  for (unsigned char c : value) unprintable |= c < 0x20 || c >= 0x7f;
  return unprintable && value.size() >= 4 &&
         message.find(value) != std::string::npos;
}

}  // namespace

// protobuf logs every string field that is not UTF-8; DecodeRequest reports
// those as statuses, so the lines are noise here.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Program& program = TheProgram();
  grpc::Slice slice(data, size);
  grpc::ByteBuffer bytes(&slice, 1);
  steward::v1::CheckRequest request;
  absl::Status decoded = steward::server::DecodeRequest(bytes, &request);
  if (!decoded.ok()) {
    if (decoded.code() != absl::StatusCode::kInvalidArgument ||
        decoded.message().empty()) {
      std::abort();
    }
    return 0;
  }
  absl::Status valid = steward::server::ValidateCheckRequest(
      request, steward::server::CheckLimits());
  if (!valid.ok()) {
    const std::string message(valid.message());
    if (valid.code() != absl::StatusCode::kInvalidArgument || message.empty() ||
        MessageEchoes(message, request.principal_id()) ||
        MessageEchoes(message, request.resource().id()) ||
        MessageEchoes(message, request.justification())) {
      std::abort();
    }
    return 0;
  }
  steward::server::BoundCheck check(request, absl::FromUnixSeconds(1000));
  Request& bound = check.request();
  std::vector<RoleBinding> bindings;
  for (RoleId r = 0; r < program.role_count(); ++r) {
    bindings.push_back({r, r % 2 == 0 ? "" : "acme"});
  }
  std::vector<Value> principal(program.principal_attributes().size());
  if (!principal.empty()) principal[0] = Value::String("eu");
  bound.principal_known = true;
  bound.bindings = bindings;
  bound.principal_attributes = principal;
  const Decision fast = Evaluate(program, bound);
  const Decision again = Evaluate(program, bound);
  Explanation explanation;
  const Decision explained = Evaluate(program, bound, &explanation);
  if (fast.effect != explained.effect || fast.reason != explained.reason ||
      fast.rule_id != explained.rule_id || fast.effect != again.effect ||
      fast.rule_id != again.rule_id) {
    std::abort();
  }
  AllowedFieldNames(program, fast);
  DeniedFieldNames(program, fast);
  explanation.ToString();
  return 0;
}

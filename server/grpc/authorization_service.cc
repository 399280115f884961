#include "server/grpc/authorization_service.h"

#include <google/protobuf/arena.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/grpc/check_evaluation.h"
#include "server/grpc/grpc_status.h"
#include "server/grpc/plan_evaluation.h"
#include "server/grpc/request_decoding.h"

namespace steward::server {
namespace {

// Ends a call before evaluation: `status` is the answer.
grpc::ServerUnaryReactor* Finished(grpc::ServerUnaryReactor* reactor,
                                   const absl::Status& status) {
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void CountDecision(Metrics& metrics, const CheckOutcome& outcome) {
  if (outcome.has_policy) {
    metrics.RecordDecision(outcome.effect(), outcome.decision.reason);
  } else {
    metrics.RecordNoActivePolicy();
  }
}

// The decoded request and the response of one call, alive until the call
// finishes (audit records are built from them). Both live on an arena whose
// first block is part of this object: parsing a request with attribute maps
// then costs no heap allocation per string, and freeing it is one step.
template <typename Request, typename Response>
class CallState {
 public:
  CallState() : arena_(Options(block_, sizeof(block_))) {
    request_ = google::protobuf::Arena::CreateMessage<Request>(&arena_);
    response_ = google::protobuf::Arena::CreateMessage<Response>(&arena_);
  }
  CallState(const CallState&) = delete;
  CallState& operator=(const CallState&) = delete;

  Request* request() { return request_; }
  Response* response() { return response_; }

 private:
  static google::protobuf::ArenaOptions Options(char* block, size_t size) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = size;
    return options;
  }

  // Declared before the arena, which must not outlive it.
  alignas(16) char block_[2048];
  google::protobuf::Arena arena_;
  Request* request_;
  Response* response_;
};

// Which latency histogram a call's time goes to.
using LatencyRecorder = void (Metrics::*)(double seconds);

// Counts every audit completion of one call and finishes the reactor after
// the last one, with the first error if any. On success it encodes the
// response into gRPC's buffer first.
class Completion {
 public:
  Completion(grpc::ServerUnaryReactor* reactor, int pending,
             std::atomic<int64_t>* in_flight, Metrics* metrics,
             LatencyRecorder record_latency,
             std::chrono::steady_clock::time_point start,
             std::shared_ptr<const void> state,
             const google::protobuf::Message* response, grpc::ByteBuffer* out)
      : reactor_(reactor),
        pending_(pending),
        in_flight_(in_flight),
        metrics_(metrics),
        record_latency_(record_latency),
        start_(start),
        state_(std::move(state)),
        response_(response),
        out_(out) {}

  void Done(const absl::Status& status) {
    if (!status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (error_.ok()) error_ = status;
    }
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    absl::Status error;
    {
      std::lock_guard<std::mutex> lock(mu_);
      error = error_;
    }
    (metrics_->*record_latency_)(SecondsSince(start_));
    in_flight_->fetch_sub(1, std::memory_order_relaxed);
    // An unrecorded decision is never returned: the caller retries. A full
    // queue keeps its own code so callers can tell overload from failure.
    if (error.ok()) error = EncodeResponse(*response_, out_);
    if (error.ok()) {
      reactor_->Finish(grpc::Status::OK);
    } else if (error.code() == absl::StatusCode::kResourceExhausted ||
               error.code() == absl::StatusCode::kInternal) {
      reactor_->Finish(ToGrpcStatus(error));
    } else {
      reactor_->Finish(ToGrpcStatus(absl::UnavailableError(
          "the decision could not be recorded in the audit trail; retry")));
    }
  }

 private:
  grpc::ServerUnaryReactor* reactor_;
  std::atomic<int> pending_;
  std::atomic<int64_t>* in_flight_;
  Metrics* metrics_;
  LatencyRecorder record_latency_;
  std::chrono::steady_clock::time_point start_;
  std::shared_ptr<const void> state_;
  const google::protobuf::Message* response_;
  grpc::ByteBuffer* out_;
  // A plain mutex: one is made per call, and Abseil's costs more to create
  // and destroy.
  std::mutex mu_;
  absl::Status error_;  // guarded by mu_
};

}  // namespace

AuthorizationServiceImpl::AuthorizationServiceImpl(
    const store::SnapshotHolder* snapshots, Authenticator* authenticator,
    AuditSink* audit, Metrics* metrics, const store::Clock* clock,
    Options options)
    : snapshots_(snapshots),
      authenticator_(authenticator),
      audit_(audit),
      metrics_(metrics),
      clock_(clock),
      options_(options),
      waiter_(snapshots) {
  unsigned char random[8];
  RAND_bytes(random, sizeof(random));
  id_prefix_ = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(random), sizeof(random)));
}

std::string AuthorizationServiceImpl::NextDecisionId() {
  // Same as StrFormat("%s-%012x"), without the format parser on every call.
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t n = next_id_.fetch_add(1, std::memory_order_relaxed) + 1;
  char digits[16];
  int count = 0;
  do {
    digits[count++] = kHex[n & 0xF];
    n >>= 4;
  } while (n != 0);
  std::string id;
  id.reserve(id_prefix_.size() + 1 + std::max(count, 12));
  id.append(id_prefix_);
  id.push_back('-');
  id.append(static_cast<size_t>(std::max(0, 12 - count)), '0');
  while (count > 0) id.push_back(digits[--count]);
  return id;
}

absl::StatusOr<Caller> AuthorizationServiceImpl::Begin(
    const grpc::CallbackServerContext& context, absl::string_view method,
    const grpc::ByteBuffer& bytes, google::protobuf::Message* request) {
  absl::StatusOr<Caller> caller = authenticator_->Authorize(
      context, Permission::kCheck,
      RpcName{v1::AuthorizationService::service_full_name(), method});
  if (!caller.ok()) return caller.status();
  if (absl::Status decoded = DecodeRequest(bytes, request); !decoded.ok()) {
    return decoded;
  }
  return caller;
}

void AuthorizationServiceImpl::Refused(grpc::ServerUnaryReactor* reactor,
                                       const absl::Status& status) {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  metrics_->RecordRejected();
  reactor->Finish(ToGrpcStatus(status));
}

absl::Status AuthorizationServiceImpl::Admit() {
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) <
      options_.max_in_flight) {
    return absl::OkStatus();
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  metrics_->RecordRejected();
  return absl::ResourceExhaustedError("server overloaded; retry later");
}

template <typename Decide>
void AuthorizationServiceImpl::WithSnapshotAtLeast(
    const grpc::CallbackServerContext& context,
    grpc::ServerUnaryReactor* reactor, int64_t min_revision, Decide decide) {
  std::shared_ptr<const store::Snapshot> snapshot = snapshots_->Get();
  if (snapshot->store_revision() >= min_revision) {
    decide(std::move(snapshot));
    return;
  }
  const absl::Time deadline = std::min(absl::Now() + options_.min_revision_wait,
                                       absl::FromChrono(context.deadline()));
  waiter_.Park(
      min_revision, deadline,
      [this, reactor, min_revision, decide = std::move(decide)](
          std::shared_ptr<const store::Snapshot> snapshot) mutable {
        if (snapshot->store_revision() < min_revision) {
          in_flight_.fetch_sub(1, std::memory_order_relaxed);
          reactor->Finish(ToGrpcStatus(absl::UnavailableError(
              absl::StrCat("store revision ", snapshot->store_revision(),
                           " is behind the requested ", min_revision,
                           " (min_store_revision); retry, or ask "
                           "another replica"))));
          return;
        }
        decide(std::move(snapshot));
      });
}

grpc::ServerUnaryReactor* AuthorizationServiceImpl::Check(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
    grpc::ByteBuffer* out) {
  auto start = std::chrono::steady_clock::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto state =
      std::make_shared<CallState<v1::CheckRequest, v1::CheckResponse>>();
  absl::StatusOr<Caller> caller =
      Begin(*context, "Check", *bytes, state->request());
  if (!caller.ok()) {
    return Finished(reactor, caller.status());
  }
  const v1::CheckRequest* request = state->request();
  if (absl::Status valid = ValidateCheckRequest(*request, options_.limits);
      !valid.ok()) {
    return Finished(reactor, valid);
  }
  // Counted in flight while parked too: that bounds how many may wait.
  if (absl::Status admitted = Admit(); !admitted.ok()) {
    return Finished(reactor, admitted);
  }
  // One snapshot for the whole call: a concurrent swap never mixes states.
  auto decide = [this, reactor, state, caller = *std::move(caller), start,
                 out](std::shared_ptr<const store::Snapshot> snapshot) {
    const v1::CheckRequest* request = state->request();
    v1::CheckResponse* response = state->response();
    BoundCheck check(*request, clock_->Now());
    const CheckOutcome outcome = EvaluateCheck(*snapshot, check);
    ToCheckResponse(outcome, request->request_id(), response);
    response->set_decision_id(NextDecisionId());
    CountDecision(*metrics_, outcome);

    auto completion = std::make_shared<Completion>(
        reactor, 1, &in_flight_, metrics_, &Metrics::RecordCheckLatency, start,
        state, response, out);
    absl::Status queued = audit_->Record(
        caller, snapshot->program(), check, outcome, response->decision_id(),
        [completion](absl::Status status) { completion->Done(status); });
    if (!queued.ok()) Refused(reactor, queued);
  };
  WithSnapshotAtLeast(*context, reactor, request->min_store_revision(),
                      std::move(decide));
  return reactor;
}

grpc::ServerUnaryReactor* AuthorizationServiceImpl::BatchCheck(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
    grpc::ByteBuffer* out) {
  auto start = std::chrono::steady_clock::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto state = std::make_shared<
      CallState<v1::BatchCheckRequest, v1::BatchCheckResponse>>();
  absl::StatusOr<Caller> caller =
      Begin(*context, "BatchCheck", *bytes, state->request());
  if (!caller.ok()) {
    return Finished(reactor, caller.status());
  }
  const v1::BatchCheckRequest* request = state->request();
  const int items = request->items_size();
  if (items == 0) {
    return Finished(reactor, absl::InvalidArgumentError(
                                 "items: at least one item is required"));
  }
  if (static_cast<size_t>(items) > options_.limits.max_batch_items) {
    reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("items: ", items, " items; at most ",
                     options_.limits.max_batch_items, " per BatchCheck"))));
    return reactor;
  }
  if (request->min_store_revision() < 0) {
    return Finished(reactor, absl::InvalidArgumentError(
                                 "min_store_revision: must not be negative"));
  }
  int64_t min_revision = request->min_store_revision();
  for (int i = 0; i < items; ++i) {
    if (absl::Status valid =
            ValidateCheckRequest(request->items(i), options_.limits,
                                 absl::StrCat("items[", i, "]."));
        !valid.ok()) {
      return Finished(reactor, valid);
    }
    min_revision =
        std::max(min_revision, request->items(i).min_store_revision());
  }
  // Counted in flight while parked too: that bounds how many may wait.
  if (absl::Status admitted = Admit(); !admitted.ok()) {
    return Finished(reactor, admitted);
  }
  auto decide = [this, reactor, state, caller = *std::move(caller), start,
                 out](std::shared_ptr<const store::Snapshot> snapshot) {
    const v1::BatchCheckRequest* request = state->request();
    v1::BatchCheckResponse* response = state->response();
    const int items = request->items_size();
    metrics_->RecordBatch(static_cast<size_t>(items));
    const absl::Time now = clock_->Now();
    response->mutable_items()->Reserve(items);
    // Bound and decided items stay alive until their audit records are
    // made. A deque: BoundCheck cannot move, and its elements never do.
    std::deque<BoundCheck> checks;
    std::vector<CheckOutcome> outcomes;
    outcomes.reserve(static_cast<size_t>(items));
    // Over a large snapshot each lookup waits on two or three cache misses
    // (store/snapshot.h); starting the next items' loads in stages lets
    // those misses overlap with this item's evaluation.
    auto prefetch = [&](int j, store::Snapshot::PrefetchStage stage) {
      if (j < items) {
        const v1::CheckRequest& next = request->items(j);
        snapshot->Prefetch(next.principal_id(), next.resource().scope(), stage);
      }
    };
    for (int i = 0; i < items; ++i) {
      prefetch(i + 3, store::Snapshot::PrefetchStage::kIndex);
      prefetch(i + 2, store::Snapshot::PrefetchStage::kEntry);
      prefetch(i + 1, store::Snapshot::PrefetchStage::kBindings);
      const v1::CheckRequest& wire = request->items(i);
      BoundCheck& check = checks.emplace_back(wire, now);
      const CheckOutcome& outcome =
          outcomes.emplace_back(EvaluateCheck(*snapshot, check));
      v1::CheckResponse* item = response->add_items();
      ToCheckResponse(outcome, wire.request_id(), item);
      item->set_decision_id(NextDecisionId());
      CountDecision(*metrics_, outcome);
    }
    auto completion = std::make_shared<Completion>(
        reactor, items, &in_flight_, metrics_, &Metrics::RecordCheckLatency,
        start, state, response, out);
    for (int i = 0; i < items; ++i) {
      absl::Status queued = audit_->Record(
          caller, snapshot->program(), checks[i], outcomes[i],
          response->items(i).decision_id(),
          [completion](absl::Status status) { completion->Done(status); });
      if (!queued.ok()) {
        // The items already queued will still complete; account for the
        // rest as failed so the reactor finishes exactly once, with an
        // error.
        metrics_->RecordRejected();
        for (int rest = i; rest < items; ++rest) completion->Done(queued);
        break;
      }
    }
  };
  WithSnapshotAtLeast(*context, reactor, min_revision, std::move(decide));
  return reactor;
}

grpc::ServerUnaryReactor* AuthorizationServiceImpl::PlanResources(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* bytes,
    grpc::ByteBuffer* out) {
  auto start = std::chrono::steady_clock::now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto state = std::make_shared<
      CallState<v1::PlanResourcesRequest, v1::PlanResourcesResponse>>();
  absl::StatusOr<Caller> caller =
      Begin(*context, "PlanResources", *bytes, state->request());
  if (!caller.ok()) {
    return Finished(reactor, caller.status());
  }
  const v1::PlanResourcesRequest* request = state->request();
  if (absl::Status valid =
          ValidatePlanResourcesRequest(*request, options_.limits);
      !valid.ok()) {
    return Finished(reactor, valid);
  }
  // Counted in flight while parked too: that bounds how many may wait.
  if (absl::Status admitted = Admit(); !admitted.ok()) {
    return Finished(reactor, admitted);
  }
  auto decide = [this, reactor, state, caller = *std::move(caller), start,
                 out](std::shared_ptr<const store::Snapshot> snapshot) {
    const v1::PlanResourcesRequest* request = state->request();
    v1::PlanResourcesResponse* response = state->response();
    BoundPlan plan(*request, clock_->Now());
    const PlanOutcome outcome = EvaluatePlan(*snapshot, plan);
    ToPlanResponse(outcome, request->request_id(), response);
    response->set_plan_id(NextDecisionId());
    metrics_->RecordPlan(outcome.has_policy ? outcome.plan.kind
                                            : policy::PlanKind::kAlwaysDenied);

    auto completion = std::make_shared<Completion>(
        reactor, 1, &in_flight_, metrics_, &Metrics::RecordPlanLatency, start,
        state, response, out);
    absl::Status queued = audit_->RecordPlan(
        caller, plan, outcome, response->plan_id(),
        [completion](absl::Status status) { completion->Done(status); });
    if (!queued.ok()) Refused(reactor, queued);
  };
  WithSnapshotAtLeast(*context, reactor, request->min_store_revision(),
                      std::move(decide));
  return reactor;
}

}  // namespace steward::server

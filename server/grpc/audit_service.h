// AuditService: the trail for auditors (queries, subject access, chain
// verification) and the access reports computed from the active policy,
// the role store and the trail. Needs an auditor or admin key; read-only.
#ifndef STEWARD_SERVER_GRPC_AUDIT_SERVICE_H_
#define STEWARD_SERVER_GRPC_AUDIT_SERVICE_H_

#include "server/audit/access_reports.h"
#include "server/audit/audit_queries.h"
#include "server/audit/usage.h"
#include "server/auth/authenticator.h"
#include "server/grpc/decoded_service.h"
#include "server/store/clock.h"
#include "server/store/principal_repository.h"
#include "server/store/snapshot_publisher.h"
#include "steward/v1/audit.grpc.pb.h"

namespace steward::server {

// Thread-safe; borrows everything it is given, which must outlive it.
class AuditServiceImpl final : public DecodedService<v1::AuditService> {
 public:
  // Every RPC works whatever engine holds the trail: QueryDecisions,
  // SubjectAccess and VerifyChain are answered from `queries`; the reports
  // from audit::AccessReports over `queries` and `usage` (may be null: it
  // speeds up UnusedGrants on large trails; DecisionSummary needs it,
  // FAILED_PRECONDITION without). The daemon passes the SQLite trail's
  // UsageIndex or the PostgreSQL trail's PgTrailUsage.
  AuditServiceImpl(store::PrincipalRepository* store,
                   const store::SnapshotPublisher* snapshots,
                   audit::AuditQueries* queries, Authenticator* authenticator,
                   const store::Clock* clock,
                   audit::TrailUsage* usage = nullptr);

 private:
  // The RPCs, served by DecodedService (see the constructor).
  void QueryDecisions(const std::shared_ptr<UnaryCall>& call,
                      const v1::QueryDecisionsRequest* request,
                      v1::QueryDecisionsResponse* response);
  void VerifyChain(const std::shared_ptr<UnaryCall>& call,
                   const v1::VerifyChainRequest* request,
                   v1::VerifyChainResponse* response);
  void SubjectAccess(const std::shared_ptr<UnaryCall>& call,
                     const v1::SubjectAccessRequest* request,
                     v1::SubjectAccessResponse* response);
  void WhoCan(const std::shared_ptr<UnaryCall>& call,
              const v1::WhoCanRequest* request, v1::WhoCanResponse* response);
  void EffectivePermissions(const std::shared_ptr<UnaryCall>& call,
                            const v1::EffectivePermissionsRequest* request,
                            v1::EffectivePermissionsResponse* response);
  void UnusedGrants(const std::shared_ptr<UnaryCall>& call,
                    const v1::UnusedGrantsRequest* request,
                    v1::UnusedGrantsResponse* response);
  void SeparationViolations(const std::shared_ptr<UnaryCall>& call,
                            const v1::SeparationViolationsRequest* request,
                            v1::SeparationViolationsResponse* response);
  void ExpiringGrants(const std::shared_ptr<UnaryCall>& call,
                      const v1::ExpiringGrantsRequest* request,
                      v1::ExpiringGrantsResponse* response);
  void DecisionSummary(const std::shared_ptr<UnaryCall>& call,
                       const v1::DecisionSummaryRequest* request,
                       v1::DecisionSummaryResponse* response);

  audit::AccessReports Reports() const;

  // Authorizes, runs `fn` and finishes the reactor with its status.
  template <typename Fn>
  void Run(const std::shared_ptr<UnaryCall>& call, Fn fn);

  store::PrincipalRepository* store_;
  const store::SnapshotPublisher* snapshots_;
  audit::AuditQueries* queries_;
  Authenticator* authenticator_;
  const store::Clock* clock_;
  audit::TrailUsage* usage_;
};

// Wire form of a stored record.
v1::AuditRecord ToProto(const audit::AuditRecord& record);

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_AUDIT_SERVICE_H_

// AdminService: policies, principals, role bindings and API keys. Every
// call needs an admin key; mutations also need a fresh TOTP code (except in
// --dev). Each mutation is one store transaction; once it commits, the new
// snapshot is published (by the store) and the change is recorded in the
// audit trail before the reply is sent.
#ifndef STEWARD_SERVER_GRPC_ADMIN_SERVICE_H_
#define STEWARD_SERVER_GRPC_ADMIN_SERVICE_H_

#include "server/auth/authenticator.h"
#include "server/grpc/audit_sink.h"
#include "server/grpc/decoded_service.h"
#include "server/metrics/metrics.h"
#include "server/store/key_repository.h"
#include "server/store/policy_repository.h"
#include "server/store/principal_repository.h"
#include "server/store/snapshot_publisher.h"
#include "steward/v1/admin.grpc.pb.h"

namespace steward::server {

// Thread-safe; borrows everything it is given, which must outlive it.
class AdminServiceImpl final : public DecodedService<v1::AdminService> {
 public:
  AdminServiceImpl(store::PolicyRepository* policies,
                   store::PrincipalRepository* principals,
                   store::KeyRepository* keys,
                   const store::SnapshotPublisher* snapshots,
                   Authenticator* authenticator, AuditSink* audit,
                   Metrics* metrics);

  // What a committed mutation tells the audit trail.
  struct Change {
    std::string principal;  // the principal concerned, "" if none
    std::string details_json;
    int64_t store_revision = 0;
  };

 private:
  // The RPCs, served by DecodedService (see the constructor).
  void ValidatePolicy(const std::shared_ptr<UnaryCall>& call,
                      const v1::ValidatePolicyRequest* request,
                      v1::ValidatePolicyResponse* response);
  void ApplyPolicy(const std::shared_ptr<UnaryCall>& call,
                   const v1::ApplyPolicyRequest* request,
                   v1::ApplyPolicyResponse* response);
  void ListPolicyVersions(const std::shared_ptr<UnaryCall>& call,
                          const v1::ListPolicyVersionsRequest* request,
                          v1::ListPolicyVersionsResponse* response);
  void GetPolicy(const std::shared_ptr<UnaryCall>& call,
                 const v1::GetPolicyRequest* request,
                 v1::GetPolicyResponse* response);
  void ActivatePolicyVersion(const std::shared_ptr<UnaryCall>& call,
                             const v1::ActivatePolicyVersionRequest* request,
                             v1::ActivatePolicyVersionResponse* response);
  void DiffPolicyVersions(const std::shared_ptr<UnaryCall>& call,
                          const v1::DiffPolicyVersionsRequest* request,
                          v1::DiffPolicyVersionsResponse* response);
  void UpsertPrincipal(const std::shared_ptr<UnaryCall>& call,
                       const v1::UpsertPrincipalRequest* request,
                       v1::UpsertPrincipalResponse* response);
  void GetPrincipal(const std::shared_ptr<UnaryCall>& call,
                    const v1::GetPrincipalRequest* request,
                    v1::GetPrincipalResponse* response);
  void ListPrincipals(const std::shared_ptr<UnaryCall>& call,
                      const v1::ListPrincipalsRequest* request,
                      v1::ListPrincipalsResponse* response);
  void SetPrincipalDisabled(const std::shared_ptr<UnaryCall>& call,
                            const v1::SetPrincipalDisabledRequest* request,
                            v1::SetPrincipalDisabledResponse* response);
  void DeletePrincipal(const std::shared_ptr<UnaryCall>& call,
                       const v1::DeletePrincipalRequest* request,
                       v1::DeletePrincipalResponse* response);
  void Grant(const std::shared_ptr<UnaryCall>& call,
             const v1::GrantRequest* request, v1::GrantResponse* response);
  void Revoke(const std::shared_ptr<UnaryCall>& call,
              const v1::RevokeRequest* request, v1::RevokeResponse* response);
  void ListBindings(const std::shared_ptr<UnaryCall>& call,
                    const v1::ListBindingsRequest* request,
                    v1::ListBindingsResponse* response);
  void CreateApiKey(const std::shared_ptr<UnaryCall>& call,
                    const v1::CreateApiKeyRequest* request,
                    v1::CreateApiKeyResponse* response);
  void ListApiKeys(const std::shared_ptr<UnaryCall>& call,
                   const v1::ListApiKeysRequest* request,
                   v1::ListApiKeysResponse* response);
  void RevokeApiKey(const std::shared_ptr<UnaryCall>& call,
                    const v1::RevokeApiKeyRequest* request,
                    v1::RevokeApiKeyResponse* response);

  // Runs a read-only handler.
  template <typename Fn>
  void Read(const std::shared_ptr<UnaryCall>& call, Fn fn);
  // Runs a mutation and records it in the audit trail before finishing.
  template <typename Fn>
  void Mutate(const std::shared_ptr<UnaryCall>& call, absl::string_view method,
              Fn fn);

  store::PolicyRepository* policies_;
  store::PrincipalRepository* principals_;
  store::KeyRepository* keys_;
  const store::SnapshotPublisher* snapshots_;
  Authenticator* authenticator_;
  AuditSink* audit_;
  Metrics* metrics_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_ADMIN_SERVICE_H_

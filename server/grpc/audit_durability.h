// How a Check's decision record reaches the trail before the answer goes
// out; chosen by `stewardd serve --audit-durability`.
#ifndef STEWARD_SERVER_GRPC_AUDIT_DURABILITY_H_
#define STEWARD_SERVER_GRPC_AUDIT_DURABILITY_H_

namespace steward::server {

// kSync: the answer waits for the record's commit. kAsync: the record is
// queued and the answer goes out. kOff exists to measure what auditing
// costs (Check throughput with sync audit vs without); it is refused
// outside --dev and still records admin changes and authentication
// failures.
enum class AuditDurability { kSync, kAsync, kOff };

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_AUDIT_DURABILITY_H_

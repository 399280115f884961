// Limits on admin requests, defined once: the store enforces them as its
// preconditions, and the AdminService checks the same values first to
// answer INVALID_ARGUMENT naming the wire field. The values are the ones
// proto/steward/v1/admin.proto documents. Here rather than in server/
// because the store may not include server/ headers (scripts/check-layering).
#ifndef STEWARD_SERVER_STORE_LIMITS_H_
#define STEWARD_SERVER_STORE_LIMITS_H_

#include <cstddef>

namespace steward::store {

// List calls page by `page_size`: 0 asks for the default, at most the max.
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

// ApplyPolicyRequest.message (why the change is made): required, at most
// this many bytes.
inline constexpr size_t kMaxPolicyMessageBytes = 1024;

}  // namespace steward::store

#endif  // STEWARD_SERVER_STORE_LIMITS_H_

// A counting global allocator for the policy benchmarks: replaces operator
// new/delete in the benchmark binary only, so benchmarks can report heap
// allocations per check and the live bytes a Program holds. Benchmark
// support; never linked into the library or the service.
#ifndef STEWARD_BENCH_POLICY_COUNTING_ALLOCATOR_H_
#define STEWARD_BENCH_POLICY_COUNTING_ALLOCATOR_H_

#include <cstdint>

namespace steward::bench {

struct AllocationStats {
  int64_t allocations = 0;  // calls to operator new since start
  int64_t live_bytes = 0;   // requested bytes not yet freed
};

AllocationStats CurrentAllocationStats();

}  // namespace steward::bench

#endif  // STEWARD_BENCH_POLICY_COUNTING_ALLOCATOR_H_

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
  // The highest live_bytes since the last ResetPeakLiveBytes() (or start).
  int64_t peak_live_bytes = 0;
};

AllocationStats CurrentAllocationStats();

// Restarts peak tracking from the current live_bytes, so a benchmark can
// read the heap high-water mark of one operation (requested bytes, without
// malloc's own overhead). Not meant for concurrent use with allocations on
// other threads.
void ResetPeakLiveBytes();

}  // namespace steward::bench

#endif  // STEWARD_BENCH_POLICY_COUNTING_ALLOCATOR_H_

// Global operator new/delete that count calls, live bytes and their peak (see
// policy_counting_allocator.h). Each block carries a 16-byte header with
// its size so unsized deletes can subtract it; 16 keeps max_align_t
// alignment. Aligned (std::align_val_t) overloads are left to the default
// implementation, which nothing in the policy library uses.
#include "bench/policy_counting_allocator.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

// Process-wide counters are the point of this file; they live only in the
// benchmark binary.
std::atomic<int64_t> g_allocations{0};
std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_peak_live_bytes{0};

constexpr size_t kHeader = 16;

void* Allocate(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const int64_t live = g_live_bytes.fetch_add(static_cast<int64_t>(size),
                                              std::memory_order_relaxed) +
                       static_cast<int64_t>(size);
  int64_t peak = g_peak_live_bytes.load(std::memory_order_relaxed);
  while (live > peak && !g_peak_live_bytes.compare_exchange_weak(
                            peak, live, std::memory_order_relaxed)) {
  }
  void* block = std::malloc(size + kHeader);
  if (block == nullptr) throw std::bad_alloc();
  *static_cast<size_t*>(block) = size;
  return static_cast<char*>(block) + kHeader;
}

void Free(void* p) {
  if (p == nullptr) return;
  void* block = static_cast<char*>(p) - kHeader;
  g_live_bytes.fetch_sub(static_cast<int64_t>(*static_cast<size_t*>(block)),
                         std::memory_order_relaxed);
  std::free(block);
}

}  // namespace

void* operator new(size_t size) { return Allocate(size); }
void* operator new[](size_t size) { return Allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return Allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  try {
    return Allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { Free(p); }
void operator delete[](void* p) noexcept { Free(p); }
void operator delete(void* p, size_t) noexcept { Free(p); }
void operator delete[](void* p, size_t) noexcept { Free(p); }

namespace steward::bench {

AllocationStats CurrentAllocationStats() {
  return {g_allocations.load(std::memory_order_relaxed),
          g_live_bytes.load(std::memory_order_relaxed),
          g_peak_live_bytes.load(std::memory_order_relaxed)};
}

void ResetPeakLiveBytes() {
  g_peak_live_bytes.store(g_live_bytes.load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
}

}  // namespace steward::bench

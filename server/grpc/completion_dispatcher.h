// Runs the completions of sync-audited decisions on a thread of their own.
// The audit writer calls a commit callback per record, on its one thread;
// finishing a gRPC call from there (encode, sendmsg) would keep the writer
// from starting the next group commit for as long as the previous batch
// takes to answer. Handing the callbacks over lets the next commit's fsync
// overlap with sending the last batch's replies.
#ifndef STEWARD_SERVER_GRPC_COMPLETION_DISPATCHER_H_
#define STEWARD_SERVER_GRPC_COMPLETION_DISPATCHER_H_

#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace steward::server {

// Thread-safe. Posted work runs in posting order; the destructor runs
// everything still queued, then joins.
class CompletionDispatcher {
 public:
  CompletionDispatcher();
  ~CompletionDispatcher();
  CompletionDispatcher(const CompletionDispatcher&) = delete;
  CompletionDispatcher& operator=(const CompletionDispatcher&) = delete;

  void Post(std::function<void()> work);

 private:
  void Run();

  absl::Mutex mu_;
  std::vector<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace steward::server

#endif  // STEWARD_SERVER_GRPC_COMPLETION_DISPATCHER_H_

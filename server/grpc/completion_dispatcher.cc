#include "server/grpc/completion_dispatcher.h"

#include <utility>

namespace steward::server {

CompletionDispatcher::CompletionDispatcher() : thread_([this] { Run(); }) {}

CompletionDispatcher::~CompletionDispatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void CompletionDispatcher::Post(std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(work));
}

void CompletionDispatcher::Run() {
  std::vector<std::function<void()>> batch;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping and drained
      // Take the whole queue: one lock round per commit batch, not per call.
      batch.swap(queue_);
    }
    for (std::function<void()>& work : batch) work();
    batch.clear();
  }
}

}  // namespace steward::server

// See follower.h.
#include "server/store/postgresql/follower.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "server/store/postgresql/connection.h"
#include "server/store/postgresql/database.h"
#include "server/store/postgresql/pg_store.h"

namespace steward::store::postgresql {
namespace {

// The longest one wait for a notification lasts, so that stopping never
// waits for a whole poll interval.
constexpr absl::Duration kMaxWaitSlice = absl::Milliseconds(200);
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);

}  // namespace

PgFollower::PgFollower(std::string conninfo, PgStore* store,
                       FollowOptions options)
    : conninfo_(std::move(conninfo)), store_(store), options_(options) {
  thread_ = std::thread([this] { Run(); });
}

PgFollower::~PgFollower() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

absl::Time PgFollower::last_contact() const {
  absl::MutexLock lock(&mu_);
  return last_contact_;
}

absl::Status PgFollower::last_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

void PgFollower::RecordContact() {
  absl::MutexLock lock(&mu_);
  last_contact_ = absl::Now();
  last_error_ = absl::OkStatus();
}

void PgFollower::RecordError(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  last_error_ = status;
}

bool PgFollower::SleepUnlessStopping(absl::Duration duration) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), duration);
  return !stopping_;
}

void PgFollower::Run() {
  std::unique_ptr<Connection> connection;
  absl::Duration backoff = kFirstBackoff;
  absl::Time next_poll = absl::Now();
  ConnectionOptions connection_options;
  connection_options.lock_timeout = absl::Seconds(1);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (connection == nullptr) {
      absl::StatusOr<std::unique_ptr<Connection>> opened =
          Connection::Open(conninfo_, connection_options);
      absl::Status listening =
          opened.ok() ? (*opened)->ListenForRevisions() : opened.status();
      if (!listening.ok()) {
        RecordError(listening);
        if (!SleepUnlessStopping(backoff)) return;
        backoff = std::min(backoff * 2, options_.max_reconnect_backoff);
        continue;
      }
      connection = *std::move(opened);
      backoff = kFirstBackoff;
      // Whatever was committed while we were not listening: read now.
      next_poll = absl::Now();
    }
    const absl::Time now = absl::Now();
    if (now < next_poll) {
      absl::StatusOr<std::vector<std::string>> payloads =
          connection->WaitForNotifications(
              std::min(next_poll - now, kMaxWaitSlice));
      if (!payloads.ok()) {
        RecordError(payloads.status());
        connection.reset();
        continue;
      }
      if (payloads->empty()) continue;
      if (absl::Status s = Apply(*payloads); !s.ok()) {
        // The store's own connection failed; the next poll retries.
        RecordError(s);
        continue;
      }
      RecordContact();
      continue;
    }
    absl::StatusOr<int64_t> revision = ReadRevision(*connection);
    if (!revision.ok()) {
      RecordError(revision.status());
      connection.reset();
      continue;
    }
    next_poll = absl::Now() + options_.poll_interval;
    if (*revision > store_->publisher().revision()) {
      // Notifications for it may have arrived meanwhile: apply them (the
      // cheap way) before deciding that some were missed.
      absl::StatusOr<std::vector<std::string>> payloads =
          connection->WaitForNotifications(absl::ZeroDuration());
      absl::Status applied = !payloads.ok()      ? payloads.status()
                             : payloads->empty() ? absl::OkStatus()
                                                 : Apply(*payloads);
      if (applied.ok() && *revision > store_->publisher().revision()) {
        applied = store_->CatchUp().status();
      }
      if (!applied.ok()) {
        RecordError(applied);
        if (!payloads.ok()) connection.reset();
        continue;
      }
    }
    RecordContact();
  }
}

absl::Status PgFollower::Apply(const std::vector<std::string>& payloads) {
  std::vector<RevisionNotice> notices;
  notices.reserve(payloads.size());
  for (const std::string& payload : payloads) {
    notices.push_back(DecodeRevisionNotice(payload));
  }
  return store_->ApplyNotices(std::move(notices));
}

}  // namespace steward::store::postgresql

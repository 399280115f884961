// The schema migrations embedded in this binary.
//
// Public to server/store only (the migration runner and its tests). The
// .sql files in this folder are turned into a generated source at build
// time (embed_migrations.cmake); each entry carries the SHA-256 of the file's
// exact bytes so the runner can refuse a database whose recorded migration
// differs from the one this binary knows (a migration edited after landing).
#ifndef STEWARD_MIGRATIONS_MIGRATIONS_H_
#define STEWARD_MIGRATIONS_MIGRATIONS_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace steward::migrations {

// One migration file. All views point at static, immutable data.
struct Migration {
  int version;               // the NNNN prefix of the file name, >= 1
  absl::string_view name;    // file name, e.g. "0001_initial.sql"
  absl::string_view sql;     // the file's exact bytes
  absl::string_view sha256;  // lowercase hex SHA-256 of `sql`
};

// Every embedded migration, sorted by ascending version (the generator
// refuses duplicate versions). Never empty in a correctly built binary.
absl::Span<const Migration> All();

// The PostgreSQL engine's migrations (migrations/postgresql/), likewise.
absl::Span<const Migration> AllPostgresql();

}  // namespace steward::migrations

#endif  // STEWARD_MIGRATIONS_MIGRATIONS_H_

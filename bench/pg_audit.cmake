# pg_audit_benchmark: the reports over a PostgreSQL trail at 100k and 1M
# records (pg_audit_benchmark.cc), and records/s one replica's
# PgTrailWriter sustains into PostgreSQL with group commit (sync
# durability: a record's slot frees only after its COMMIT). Runs against $STEWARD_BENCH_PG_URL, or, when unset and
# tests are built, a throwaway cluster (tests/testing/postgres_cluster.h;
# fsync off there, so those figures exclude the WAL flush). Included by
# bench/CMakeLists.txt.
if(TARGET steward_postgres_cluster)
  add_executable(pg_audit_benchmark
    ${PROJECT_SOURCE_DIR}/bench/pg_audit_benchmark.cc)
  steward_target_defaults(pg_audit_benchmark)
  target_link_libraries(pg_audit_benchmark PRIVATE
    steward_audit
    steward_store
    steward_migrations
    steward_postgres_cluster
    absl::strings
    absl::synchronization
    benchmark::benchmark)
  add_test(NAME pg_audit_benchmark_smoke
    COMMAND pg_audit_benchmark --benchmark_min_time=0.01
            --benchmark_filter=BM_PgWriterSync/64/)
  set_tests_properties(pg_audit_benchmark_smoke PROPERTIES
                       LABELS "bench-smoke;postgresql" TIMEOUT 300)
endif()

# audit_benchmark: audit trail writer throughput (sync group commit) and
# query latency on a large trail. Included by bench/CMakeLists.txt.
add_executable(audit_benchmark ${PROJECT_SOURCE_DIR}/bench/audit_benchmark.cc)
steward_target_defaults(audit_benchmark)
target_link_libraries(audit_benchmark PRIVATE
  steward_audit
  steward_store
  steward_migrations
  steward_policy
  absl::strings
  absl::synchronization
  benchmark::benchmark)
if(STEWARD_BUILD_TESTS OR BUILD_TESTING OR TARGET GTest::gtest)
  # Small sizes only: the 1,000,000-row query case builds a large file and
  # is run by hand (see the header of audit_benchmark.cc).
  add_test(NAME audit_benchmark_smoke
    COMMAND audit_benchmark --benchmark_min_time=0.01
            --benchmark_filter=BM_Canonical|BM_Minimize|BM_WriterSync/64/|BM_QueryByPrincipal/10000/)
  set_tests_properties(audit_benchmark_smoke PROPERTIES LABELS bench-smoke
                       TIMEOUT 300)
endif()

# reports_benchmark: the auditor access reports on a store with
# 100,000 principals and 5,000,000 audit records (each <= 2 s). Included by
# bench/CMakeLists.txt.
add_executable(reports_benchmark ${CMAKE_CURRENT_LIST_DIR}/reports_benchmark.cc)
steward_target_defaults(reports_benchmark)
target_link_libraries(reports_benchmark PRIVATE
  steward_server
  steward_audit
  steward_store
  steward_policy
  absl::strings
  absl::time
  benchmark::benchmark)
if(TARGET GTest::gtest)
  # CI: the 1,000-principal / 20,000-record size only, briefly.
  add_test(NAME reports_benchmark_smoke
    COMMAND reports_benchmark --benchmark_min_time=0.01
            --benchmark_filter=/1000/20000)
  set_tests_properties(reports_benchmark_smoke PROPERTIES
    LABELS bench-smoke TIMEOUT 300
    ENVIRONMENT "STEWARD_BENCH_DIR=${CMAKE_CURRENT_BINARY_DIR}")
endif()

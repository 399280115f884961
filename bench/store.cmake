# store_benchmark: snapshot build from a real SQLite file (1,000,000
# principals x 3 bindings: <= 3 s, <= 400 MiB) and principal lookup +
# effective-role resolution (target <= 100 ns). Included by
# bench/CMakeLists.txt.
add_executable(store_benchmark ${CMAKE_CURRENT_LIST_DIR}/store_benchmark.cc)
steward_target_defaults(store_benchmark)
target_link_libraries(store_benchmark PRIVATE
  steward_store steward_migrations steward_policy absl::strings absl::time
  benchmark::benchmark)
if(TARGET GTest::gtest)
  # CI: the 10,000-principal variants only, briefly.
  add_test(NAME store_benchmark_smoke
    COMMAND store_benchmark --benchmark_min_time=0.01
            "--benchmark_filter=/10000(/|$)")
  set_tests_properties(store_benchmark_smoke PROPERTIES
    LABELS bench-smoke ENVIRONMENT "STEWARD_BENCH_DIR=${CMAKE_CURRENT_BINARY_DIR}")
endif()

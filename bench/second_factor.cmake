# second_factor_benchmark: the store round trips the second-factor lockout
# adds to an admin mutation (the lockout read, counting one failure), on
# SQLite and on the throwaway PostgreSQL test cluster. Included by
# bench/CMakeLists.txt; needs the test cluster, so only with tests built.
if(TARGET steward_postgres_cluster)
  add_executable(second_factor_benchmark
    ${PROJECT_SOURCE_DIR}/bench/second_factor_benchmark.cc)
  steward_target_defaults(second_factor_benchmark)
  target_link_libraries(second_factor_benchmark PRIVATE
    steward_store
    steward_postgres_cluster
    absl::strings
    absl::time
    benchmark::benchmark)
  add_test(NAME second_factor_benchmark_smoke
    COMMAND second_factor_benchmark --benchmark_min_time=0.01)
  set_tests_properties(second_factor_benchmark_smoke PROPERTIES
                       LABELS "bench-smoke;postgresql" TIMEOUT 300)
endif()

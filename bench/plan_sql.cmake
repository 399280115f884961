# plan_sql_benchmark: rendering query plans as SQL (steward_plan_sql).
# Included by bench/CMakeLists.txt.
add_executable(plan_sql_benchmark
  ${PROJECT_SOURCE_DIR}/bench/plan_sql_benchmark.cc)
steward_target_defaults(plan_sql_benchmark)
target_link_libraries(plan_sql_benchmark PRIVATE steward_plan_sql
                      benchmark::benchmark)
if(STEWARD_BUILD_TESTS OR BUILD_TESTING OR TARGET GTest::gtest)
  add_test(NAME plan_sql_benchmark_smoke
    COMMAND plan_sql_benchmark --benchmark_min_time=0.01)
  set_tests_properties(plan_sql_benchmark_smoke PROPERTIES LABELS bench-smoke)
endif()

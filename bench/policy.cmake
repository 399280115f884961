# policy_benchmark: evaluator and compiler benchmarks of the policy library
# (targets in bench/README.md). Included by bench/CMakeLists.txt.
add_executable(policy_benchmark
  ${PROJECT_SOURCE_DIR}/bench/policy_benchmark.cc
  ${PROJECT_SOURCE_DIR}/bench/policy_counting_allocator.cc
)
steward_target_defaults(policy_benchmark)
target_link_libraries(policy_benchmark PRIVATE steward_policy steward_workload
                      benchmark::benchmark)
# CI clones the repository with shared/ beside it; STEWARD_WORKLOAD_DIR
# overrides at run time.
target_compile_definitions(policy_benchmark PRIVATE
  STEWARD_WORKLOAD_DIR_DEFAULT="${PROJECT_SOURCE_DIR}/../shared/workload")
if(STEWARD_BUILD_TESTS OR BUILD_TESTING OR TARGET GTest::gtest)
  add_test(NAME policy_benchmark_smoke
    COMMAND policy_benchmark --benchmark_min_time=0.01
            --benchmark_filter=BM_Workload|BM_UnconditionalAllow|BM_Compile/100)
  set_tests_properties(policy_benchmark_smoke PROPERTIES LABELS bench-smoke)
endif()

# The shared-workload reader (workload.h) and its two adapters, for the
# tests, the benchmarks and steward_loadgen. Included from
# tests/testing/CMakeLists.txt and bench/CMakeLists.txt, whichever of the
# two is built first; the guard defines the targets once.
include_guard(GLOBAL)

set(_steward_workload_dir ${PROJECT_SOURCE_DIR}/tests/testing)

# Plain values, and the policy form: no gRPC, no GoogleTest.
add_library(steward_workload STATIC
  ${_steward_workload_dir}/workload.cc
  ${_steward_workload_dir}/policy_workload.cc)
steward_target_defaults(steward_workload)
target_link_libraries(steward_workload PUBLIC
  steward_policy absl::status absl::statusor absl::strings absl::time
  PRIVATE nlohmann_json::nlohmann_json)

# The wire form, and loading principals into a running stewardd.
add_library(steward_workload_grpc STATIC
  ${_steward_workload_dir}/grpc_workload.cc)
steward_target_defaults(steward_workload_grpc)
target_link_libraries(steward_workload_grpc PUBLIC
  steward_workload steward_proto gRPC::grpc++ absl::span absl::time)

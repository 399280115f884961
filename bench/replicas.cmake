# steward_replica_propagation: propagation latency of an admin change between
# stewardd replicas on a throwaway PostgreSQL, and CPU per Check per
# replica (run by hand, see bench/README.md). Needs the test harness (a
# build with tests) for the cluster and the stewardd process.
if(TARGET steward_postgres_cluster)
  add_executable(steward_replica_propagation
    ${CMAKE_CURRENT_LIST_DIR}/replica_propagation.cc)
  steward_target_defaults(steward_replica_propagation)
  target_link_libraries(steward_replica_propagation PRIVATE
    steward_postgres_cluster steward_testing steward_workload_grpc
    steward_proto gRPC::grpc++ absl::strings absl::time CLI11::CLI11)
  add_dependencies(steward_replica_propagation stewardd)
endif()

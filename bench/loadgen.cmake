# steward_loadgen: the gRPC load generator (run by hand, see bench/README.md).
add_executable(steward_loadgen ${CMAKE_CURRENT_LIST_DIR}/loadgen.cc)
steward_target_defaults(steward_loadgen)
target_link_libraries(steward_loadgen PRIVATE steward_proto
                      steward_workload_grpc gRPC::grpc++ absl::strings
                      CLI11::CLI11)

# steward_echo_server: bare callback server on the Check path, the ceiling
# stewardd is compared with (see bench/README.md).
add_executable(steward_echo_server ${CMAKE_CURRENT_LIST_DIR}/echo_server.cc)
steward_target_defaults(steward_echo_server)
target_link_libraries(steward_echo_server PRIVATE steward_proto gRPC::grpc++
                      CLI11::CLI11)

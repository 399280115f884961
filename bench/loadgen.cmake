# steward_loadgen: the gRPC load generator (run by hand, see bench/README.md).
add_executable(steward_loadgen ${CMAKE_CURRENT_LIST_DIR}/loadgen.cc)
steward_target_defaults(steward_loadgen)
target_link_libraries(steward_loadgen PRIVATE steward_proto gRPC::grpc++
                      absl::strings CLI11::CLI11 nlohmann_json::nlohmann_json)

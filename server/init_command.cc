#include "server/init_command.h"

#include <cstdio>

namespace steward::server {

int RunInit(const InitConfig& config) {
  std::fprintf(stderr,
               "stewardd: error: UNIMPLEMENTED: `init` for %s needs the role "
               "store (issue 4)\n",
               config.data_dir.c_str());
  return 1;
}

}  // namespace steward::server

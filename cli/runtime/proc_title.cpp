#include "cli/runtime/proc_title.hpp"

#include <sys/prctl.h>

#include <cstring>

namespace layerfs::runtime {

namespace {
char* area = nullptr;
size_t area_size = 0;
}  // namespace

void remember_args(int argc, char** argv) {
    if (argc == 0) return;
    // The strings of argv are contiguous: /proc/PID/cmdline reads that span.
    area = argv[0];
    char* end = argv[argc - 1] + std::strlen(argv[argc - 1]) + 1;
    area_size = size_t(end - area);
}

void set_process_title(const char* title) {
    ::prctl(PR_SET_NAME, title);
    if (!area) return;
    std::memset(area, 0, area_size);
    std::strncpy(area, title, area_size - 1);
}

}  // namespace layerfs::runtime

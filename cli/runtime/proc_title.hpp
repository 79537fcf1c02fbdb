#pragma once
// What `ps` shows for a process of ours inside a container: its own name, not
// the host command line that started it (which names the host's store path).
namespace layerfs::runtime {

// Called once from main with its arguments.
void remember_args(int argc, char** argv);
// Overwrites the remembered argument area with `title` (never longer than it).
void set_process_title(const char* title);

}  // namespace layerfs::runtime

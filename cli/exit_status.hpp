#pragma once
// A command that ends with a status of its own (run, exec: the container
// command's) throws this; main returns it.
namespace layerfs::cli {

struct ExitStatus {
    int code;
};

}  // namespace layerfs::cli

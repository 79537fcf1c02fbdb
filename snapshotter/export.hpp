#pragma once
// `layerfs export`: an image as an OCI image layout directory, or as an
// oci-archive tar of one when DEST ends in ".tar".
#include <string>

#include "snapshotter/images.hpp"
#include "snapshotter/progress.hpp"
#include "snapshotter/store.hpp"

namespace layerfs::store {

// `ref` is the name to record ("name:tag", may be empty). DEST must not exist
// (or be an empty directory); it appears only when complete. Every blob is
// checked against its digest on the way out.
void export_image(const Store& s, const Image& img, const std::string& ref, const std::string& dest,
                  Progress& progress);

}  // namespace layerfs::store

#pragma once
// sha256 digests as OCI writes them ("sha256:" + 64 lowercase hex).
#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace layerfs::store {

inline constexpr std::string_view kSha256Prefix = "sha256:";

bool is_sha256_hex(std::string_view hex);
// The hex of "sha256:<hex>"; nullopt for any other algorithm or a malformed value.
std::optional<std::string> digest_hex(std::string_view digest);
inline std::string digest_of_hex(std::string_view hex) {
    return std::string(kSha256Prefix) + std::string(hex);
}

class Sha256 {
  public:
    Sha256();
    void update(const void* data, size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    std::string hex();  // finishes the hash; call once
    uint64_t bytes() const { return bytes_; }

  private:
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
    uint64_t bytes_ = 0;
};

std::string sha256_hex(std::string_view data);

// The OCI chain id of a stack of layers (diff_id hexes, bottom first), as hex:
// ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
std::string chain_id_hex(const std::vector<std::string>& diff_ids);

}  // namespace layerfs::store

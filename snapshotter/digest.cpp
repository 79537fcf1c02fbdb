#include "snapshotter/digest.hpp"

#include <new>

namespace layerfs::store {

bool is_sha256_hex(std::string_view hex) {
    if (hex.size() != 64) return false;
    for (char c : hex)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

std::optional<std::string> digest_hex(std::string_view digest) {
    if (!digest.starts_with(kSha256Prefix)) return std::nullopt;
    digest.remove_prefix(kSha256Prefix.size());
    if (!is_sha256_hex(digest)) return std::nullopt;
    return std::string(digest);
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
}

void Sha256::update(const void* data, size_t n) {
    EVP_DigestUpdate(ctx_.get(), data, n);
    bytes_ += n;
}

std::string Sha256::hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; i++) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.hex();
}

std::string chain_id_hex(const std::vector<std::string>& diff_ids) {
    std::string chain;
    for (const auto& d : diff_ids)
        chain = chain.empty() ? d : sha256_hex(digest_of_hex(chain) + " " + digest_of_hex(d));
    return chain;
}

}  // namespace layerfs::store

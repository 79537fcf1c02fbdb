// sha256 digests: snapshotter/digest.cpp.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <string>
#include <vector>

#include "snapshotter/digest.hpp"

using layerfs::store::chain_id_hex;
using layerfs::store::digest_hex;
using layerfs::store::digest_of_hex;
using layerfs::store::is_sha256_hex;
using layerfs::store::kSha256Prefix;
using layerfs::store::Sha256;
using layerfs::store::sha256_hex;

namespace {

const std::string kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
// FIPS 180-2 test vectors.
const std::string kTwoBlocks = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
const std::string kMillionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
const std::string kTwoBlockMsg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

// Chain ids of diff_ids kEmpty (E), kAbc (A) and 64 'f' (F), computed with
// coreutils, e.g. printf 'sha256:%s sha256:%s' E A | sha256sum.
const std::string kF(64, 'f');
const std::string kChainEA = "a893da35bd22286079f2f3931516d3423eb9b4945f2379e0f8a501ec3d665dd6";
const std::string kChainAE = "dd8ddd90bdf3ccbd91abd3f399218c9d93e91246734fab743933f42048ac3e2c";
const std::string kChainEAF = "67ed2f9974187340378482b4be5410360b187658a4b8ae877ba116528c656430";

}  // namespace

TEST_CASE("sha256_hex of known vectors", "[digest]") {
    CHECK(sha256_hex("") == kEmpty);
    CHECK(sha256_hex("abc") == kAbc);
    CHECK(sha256_hex(kTwoBlockMsg) == kTwoBlocks);
    CHECK(sha256_hex(std::string(1000000, 'a')) == kMillionA);
}

TEST_CASE("sha256_hex is 64 lowercase hex", "[digest]") {
    for (const char* s : {"", "a", "hello world", "\x01\xff"}) {
        std::string h = sha256_hex(s);
        CHECK(h.size() == 64);
        CHECK(is_sha256_hex(h));
    }
}

TEST_CASE("sha256_hex hashes embedded NULs", "[digest]") {
    const std::string with_nul("a\0b", 3);
    CHECK(sha256_hex(with_nul) != sha256_hex("a"));
    CHECK(sha256_hex(std::string(1, '\0')) ==
          "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

TEST_CASE("Sha256 with nothing fed is the empty hash", "[digest]") {
    Sha256 h;
    CHECK(h.bytes() == 0);
    CHECK(h.hex() == kEmpty);
}

TEST_CASE("Sha256 streaming equals one-shot", "[digest]") {
    std::string data;
    for (int i = 0; i < 100000; i++)
        data += static_cast<char>((i * 131 + 7) & 0xff);
    const std::string whole = sha256_hex(data);

    for (size_t chunk : {size_t{1}, size_t{3}, size_t{63}, size_t{64}, size_t{65}, size_t{4096},
                         size_t{99999}, data.size()}) {
        INFO("chunk = " << chunk);
        Sha256 h;
        for (size_t off = 0; off < data.size(); off += chunk)
            h.update(std::string_view(data).substr(off, chunk));
        CHECK(h.bytes() == data.size());
        CHECK(h.hex() == whole);
    }
}

TEST_CASE("Sha256 ignores empty updates", "[digest]") {
    Sha256 h;
    h.update("");
    h.update("a");
    h.update(nullptr, 0);
    h.update("bc");
    h.update("");
    CHECK(h.bytes() == 3);
    CHECK(h.hex() == kAbc);
}

TEST_CASE("Sha256 counts bytes through both update overloads", "[digest]") {
    Sha256 h;
    const char raw[] = {'a', 'b'};
    h.update(raw, sizeof raw);
    CHECK(h.bytes() == 2);
    h.update(std::string_view("c"));
    CHECK(h.bytes() == 3);
    CHECK(h.hex() == kAbc);
}

TEST_CASE("Sha256 of a million a in uneven pieces", "[digest]") {
    Sha256 h;
    const std::string piece(997, 'a');
    size_t left = 1000000;
    while (left > 0) {
        size_t n = std::min(left, piece.size());
        h.update(piece.data(), n);
        left -= n;
    }
    CHECK(h.bytes() == 1000000);
    CHECK(h.hex() == kMillionA);
}

TEST_CASE("is_sha256_hex accepts exactly 64 lowercase hex digits", "[digest]") {
    CHECK(is_sha256_hex(kEmpty));
    CHECK(is_sha256_hex(kAbc));
    CHECK(is_sha256_hex(std::string(64, '0')));
    CHECK(is_sha256_hex(std::string(64, 'f')));
}

TEST_CASE("is_sha256_hex refuses everything else", "[digest]") {
    CHECK_FALSE(is_sha256_hex(""));
    CHECK_FALSE(is_sha256_hex("abc"));
    CHECK_FALSE(is_sha256_hex(kEmpty.substr(0, 63)));
    CHECK_FALSE(is_sha256_hex(kEmpty + "0"));
    std::string upper = kAbc;
    upper[0] = 'B';
    CHECK_FALSE(is_sha256_hex(upper));
    CHECK_FALSE(is_sha256_hex(std::string(64, 'g')));
    CHECK_FALSE(is_sha256_hex(std::string(63, 'a') + " "));
    CHECK_FALSE(is_sha256_hex(std::string(63, 'a') + std::string(1, '\0')));
    CHECK_FALSE(is_sha256_hex("sha256:" + kEmpty.substr(7)));
}

TEST_CASE("digest_hex takes the hex of sha256 digests", "[digest]") {
    CHECK(digest_hex("sha256:" + kAbc) == kAbc);
    CHECK(digest_hex(digest_of_hex(kEmpty)) == kEmpty);
}

TEST_CASE("digest_hex refuses other algorithms and malformed values", "[digest]") {
    CHECK_FALSE(digest_hex(""));
    CHECK_FALSE(digest_hex("sha256:"));
    CHECK_FALSE(digest_hex(kAbc));  // no algorithm
    CHECK_FALSE(digest_hex("sha512:" + kAbc + kAbc));
    CHECK_FALSE(digest_hex("sha512:" + kAbc));
    CHECK_FALSE(digest_hex("SHA256:" + kAbc));
    CHECK_FALSE(digest_hex("sha256 :" + kAbc));
    CHECK_FALSE(digest_hex(" sha256:" + kAbc));
    CHECK_FALSE(digest_hex("sha256:" + kAbc + " "));
    CHECK_FALSE(digest_hex("sha256:" + kAbc.substr(1)));
    CHECK_FALSE(digest_hex("sha256:" + kAbc + "0"));
    std::string upper = kAbc;
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK_FALSE(digest_hex("sha256:" + upper));
    CHECK_FALSE(digest_hex("sha256:sha256:" + kAbc));
}

TEST_CASE("digest_of_hex prefixes sha256:", "[digest]") {
    CHECK(kSha256Prefix == "sha256:");
    CHECK(digest_of_hex(kAbc) == "sha256:" + kAbc);
    CHECK(digest_of_hex("") == "sha256:");
}

TEST_CASE("chain_id_hex of one layer is its diff_id", "[digest]") {
    CHECK(chain_id_hex({kEmpty}) == kEmpty);
    CHECK(chain_id_hex({kAbc}) == kAbc);
}

TEST_CASE("chain_id_hex of several layers", "[digest]") {
    CHECK(chain_id_hex({kEmpty, kAbc}) == kChainEA);
    CHECK(chain_id_hex({kEmpty, kAbc, kF}) == kChainEAF);
    // Order matters: the bottom layer comes first.
    CHECK(chain_id_hex({kAbc, kEmpty}) == kChainAE);
    // The definition, spelled out: each step hashes "sha256:<chain> sha256:<diff_id>".
    CHECK(chain_id_hex({kEmpty, kAbc, kF}) ==
          sha256_hex("sha256:" + chain_id_hex({kEmpty, kAbc}) + " sha256:" + kF));
}

TEST_CASE("chain_id_hex of a layer repeated is not the layer", "[digest]") {
    // Two identical layers (an empty change committed twice) still chain.
    std::string twice = chain_id_hex({kAbc, kAbc});
    CHECK(twice != kAbc);
    CHECK(twice == sha256_hex("sha256:" + kAbc + " sha256:" + kAbc));
    CHECK(is_sha256_hex(twice));
}

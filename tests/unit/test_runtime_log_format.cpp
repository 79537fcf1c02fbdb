// The container log's records: cli/runtime/log_format.cpp.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/runtime/log_format.hpp"

using layerfs::runtime::decode_log;
using layerfs::runtime::encode_log_record;
using layerfs::runtime::LogRecord;
using layerfs::runtime::Stream;
using namespace std::string_literals;

namespace {

// 2024-01-02T03:04:05Z
constexpr int64_t kT = 1704164645;

struct Decoded {
    std::vector<LogRecord> records;
    size_t used = 0;
    bool bad = false;
};

Decoded decode(const std::string& buf) {
    Decoded d;
    d.used = 12345;  // decode_log must set it
    d.bad = true;
    d.records = decode_log(buf, d.used, d.bad);
    return d;
}

// Bytes a program may write that break a line-oriented log.
const std::string kBinary = "line one\nline two\n\0\0\x01\xff\xfe\n\r\n\n"s + "end\0"s;

}  // namespace

TEST_CASE("encode_log_record: header, bytes, newline", "[runtime]") {
    CHECK(encode_log_record(Stream::out, "hello\n", kT, 7) ==
          "2024-01-02T03:04:05.000000007Z stdout 6\nhello\n\n");
    CHECK(encode_log_record(Stream::err, "oops", kT, 0) ==
          "2024-01-02T03:04:05.000000000Z stderr 4\noops\n");
    CHECK(encode_log_record(Stream::out, "", kT, 0) ==
          "2024-01-02T03:04:05.000000000Z stdout 0\n\n");
    CHECK(encode_log_record(Stream::out, kBinary, kT, 0) ==
          "2024-01-02T03:04:05.000000000Z stdout " + std::to_string(kBinary.size()) + "\n" +
              kBinary + "\n");
}

TEST_CASE("encode_log_record: RFC 3339 in UTC with 9 fraction digits", "[runtime]") {
    auto time_of = [](int64_t sec, long nsec) {
        std::string r = encode_log_record(Stream::out, "x", sec, nsec);
        return r.substr(0, r.find(' '));
    };
    CHECK(time_of(0, 0) == "1970-01-01T00:00:00.000000000Z");
    CHECK(time_of(kT, 123456789) == "2024-01-02T03:04:05.123456789Z");
    CHECK(time_of(kT, 999999999) == "2024-01-02T03:04:05.999999999Z");
    CHECK(time_of(kT, 100000000) == "2024-01-02T03:04:05.100000000Z");
    // A leap day and the last second of a year.
    CHECK(time_of(1709210096, 5) == "2024-02-29T12:34:56.000000005Z");
    CHECK(time_of(1735689599, 0) == "2024-12-31T23:59:59.000000000Z");
}

TEST_CASE("decode_log: what was encoded comes back byte for byte", "[runtime]") {
    for (const std::string& bytes : {kBinary, ""s, "\n"s, "\0"s, "no newline at the end"s,
                                     "stdout 3\nabc\n"s, std::string(100000, '\n')}) {
        INFO("bytes: " << bytes.size());
        std::string buf = encode_log_record(Stream::out, bytes, kT, 42);
        Decoded d = decode(buf);
        CHECK_FALSE(d.bad);
        CHECK(d.used == buf.size());
        REQUIRE(d.records.size() == 1);
        CHECK(d.records[0].stream == Stream::out);
        CHECK(d.records[0].time == "2024-01-02T03:04:05.000000042Z");
        CHECK(d.records[0].bytes == bytes);
    }
}

TEST_CASE("decode_log: records of both streams, in order", "[runtime]") {
    std::string buf = encode_log_record(Stream::out, "out 1\n", kT, 1) +
                      encode_log_record(Stream::err, kBinary, kT, 2) +
                      encode_log_record(Stream::out, "", kT + 1, 3) +
                      encode_log_record(Stream::err, "err 2", kT + 2, 4);
    Decoded d = decode(buf);
    CHECK_FALSE(d.bad);
    CHECK(d.used == buf.size());
    REQUIRE(d.records.size() == 4);
    CHECK(d.records[0].stream == Stream::out);
    CHECK(d.records[0].bytes == "out 1\n");
    CHECK(d.records[1].stream == Stream::err);
    CHECK(d.records[1].bytes == kBinary);
    CHECK(d.records[2].stream == Stream::out);
    CHECK(d.records[2].bytes.empty());
    CHECK(d.records[2].time == "2024-01-02T03:04:06.000000003Z");
    CHECK(d.records[3].stream == Stream::err);
    CHECK(d.records[3].bytes == "err 2");
}

TEST_CASE("decode_log: an empty log", "[runtime]") {
    Decoded d = decode("");
    CHECK(d.records.empty());
    CHECK(d.used == 0u);
    CHECK_FALSE(d.bad);
}

TEST_CASE("decode_log: a record still being written stays for the next call", "[runtime]") {
    // `logs -f` reads while the monitor appends: a read can end anywhere.
    std::string first = encode_log_record(Stream::out, "first\n", kT, 0);
    std::string second = encode_log_record(Stream::err, kBinary, kT, 0);
    std::string buf = first + second;
    for (size_t cut = first.size(); cut < buf.size(); cut++) {
        INFO("cut at " << cut << " of " << buf.size());
        Decoded d = decode(buf.substr(0, cut));
        CHECK_FALSE(d.bad);
        CHECK(d.used == first.size());
        REQUIRE(d.records.size() == 1);
        CHECK(d.records[0].bytes == "first\n");
    }
    SECTION("the rest, once written, decodes on its own") {
        Decoded d = decode(buf.substr(first.size()));
        CHECK(d.used == second.size());
        REQUIRE(d.records.size() == 1);
        CHECK(d.records[0].bytes == kBinary);
    }
}

TEST_CASE("decode_log: a malformed record stops the decoding", "[runtime]") {
    std::string good = encode_log_record(Stream::out, "good\n", kT, 0);
    for (std::string bad : {
             "garbage\n"s,
             "2024-01-02T03:04:05.000000000Z\nabc\n"s,
             "2024-01-02T03:04:05.000000000Z stdout\nabc\n"s,
             "2024-01-02T03:04:05.000000000Z stdin 3\nabc\n"s,
             "2024-01-02T03:04:05.000000000Z STDOUT 3\nabc\n"s,
             "2024-01-02T03:04:05.000000000Z stdout x\nabc\n"s,
             "2024-01-02T03:04:05.000000000Z stdout -1\nabc\n"s,
             "2024-01-02T03:04:05.000000000Z stdout 3x\nabc\n"s,
             "2024-01-02T03:04:05.000000000Z stdout \nabc\n"s,
             "2024-01-02T03:04:05.000000000Z stdout 3 \nabc\n"s,
             "2024-01-02T03:04:05.000000000Z stdout 99999999999999999999999\nabc\n"s,
             // The length does not match the bytes.
             "2024-01-02T03:04:05.000000000Z stdout 2\nabc\n"s,
             "2024-01-02T03:04:05.000000000Z stdout 3\nabcd\n"s,
             "\n"s,
         }) {
        INFO("record: [" << bad << "]");
        Decoded d = decode(good + bad + good);
        CHECK(d.bad);
        // What came before is kept, and `used` points at the bad record.
        CHECK(d.used == good.size());
        REQUIRE(d.records.size() == 1);
        CHECK(d.records[0].bytes == "good\n");
    }
}

TEST_CASE("decode_log: a header longer than any real one is malformed", "[runtime]") {
    // Without a newline, a short line may be a header still being written; a
    // long one cannot be.
    Decoded d = decode(std::string(129, 'x'));
    CHECK(d.bad);
    CHECK(d.used == 0u);
    CHECK(d.records.empty());
    CHECK_FALSE(decode(std::string(40, 'x')).bad);
}

TEST_CASE("decode_log: a length no relay writes is damage, not a record to wait for", "[runtime]") {
    std::string good = encode_log_record(Stream::out, "good\n", kT, 0);
    for (std::string len : {"18446744073709551615", "18446744073709551614", "2000000"}) {
        INFO("length " << len);
        Decoded d = decode(good + "2024-01-02T03:04:05.000000000Z stdout " + len + "\nabc\n");
        CHECK(d.bad);
        CHECK(d.used == good.size());
        CHECK(d.records.size() == 1);
    }
}

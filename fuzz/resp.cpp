// Replies from Redis (outside bytes: anyone on the path of plaintext redis://, or with access to
// Redis, can answer anything), in pieces of a size the first byte picks, through the RESP reader
// with small bounds so the fuzzer reaches them. Whatever comes out must be within the bounds; once
// the reader has refused, it refuses everything after.
#include "core/shared/resp_reader.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

constexpr ig::RespLimits limits{4096, 64};

void require(bool ok) {
    if (!ok) std::abort();
}

std::size_t values(const ig::RedisReply& r) {
    std::size_t n = 1;
    for (const auto& e : r.elements) n += values(e);
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t piece = data[0] == 0 ? size : data[0];
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    ig::RespReader reader(limits);
    bool refused = false;
    for (std::size_t offset = 0; offset < input.size(); offset += piece) {
        const auto n = std::min(piece, input.size() - offset);
        const bool fed = reader.feed(input.data() + offset, n);
        require(!(refused && fed));  // once refused, refused for good
        if (!fed) {
            require(!reader.error().empty());
            refused = true;
        }
        while (auto reply = reader.next()) {
            require(!refused);
            require(values(*reply) <= limits.max_elements);
            require(reply->str.size() <= limits.max_reply_bytes);
            require(reply->type != ig::RedisReply::Type::Failed);
        }
        if (!reader.error().empty()) refused = true;
        if (refused) require(!reader.feed("+OK\r\n", 5) && !reader.next());
    }
    return 0;
}

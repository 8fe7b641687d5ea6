#include "proxy/http/request_id.hpp"

#include <openssl/rand.h>

#include <cstdint>
#include <random>

namespace ig {

// A request id needs to be unique, not secret: a per-thread generator
// seeded from OpenSSL avoids RAND_bytes' per-call fork check (a getpid syscall per request).
std::string new_request_id() {
    thread_local std::mt19937_64 rng = [] {
        std::uint64_t seed[4] = {};
        if (RAND_bytes(reinterpret_cast<unsigned char*>(seed), sizeof seed) != 1) seed[0] = std::random_device{}();
        std::seed_seq seq{seed[0], seed[1], seed[2], seed[3]};
        return std::mt19937_64(seq);
    }();
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(32, '0');
    for (std::size_t half = 0; half < 2; ++half) {
        std::uint64_t v = rng();
        for (std::size_t i = 0; i < 16; ++i, v >>= 4) id[half * 16 + i] = hex[v & 0xf];
    }
    return id;
}

}  // namespace ig

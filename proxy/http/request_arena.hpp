#pragma once
// Memory for the header fields of one request on the front end: the client's request, the fields
// the gateway sets on it and the upstream's response header. Beast's fields container allocates
// each field separately; here they come from one block lent by the worker for the request and
// given back at its end (std::pmr::monotonic_buffer_resource over the block, the heap past it).
// The block is taken at the first allocation: once the request line has arrived (Beast parses
// each line as it comes). A client that sends a header slowly holds it until header_timeout, as it
// holds its read buffer; a connection waiting between requests holds none (docs/hostile-clients.md).
// One worker thread only, like everything of a session.
#include <boost/beast/http/fields.hpp>

#include <cstddef>
#include <memory>
#include <memory_resource>
#include <optional>
#include <vector>

namespace ig {

using ArenaAllocator = std::pmr::polymorphic_allocator<char>;
using ArenaFields = boost::beast::http::basic_fields<ArenaAllocator>;

class RequestArena final : public std::pmr::memory_resource {
public:
    static constexpr std::size_t block_size = 4 * 1024;
    using Spares = std::vector<std::unique_ptr<std::byte[]>>;

    // `overflow`: where what does not fit in the block comes from (tests count it).
    explicit RequestArena(Spares& spares, std::pmr::memory_resource* overflow = std::pmr::new_delete_resource())
        : spares_(spares), overflow_(overflow) {}
    ~RequestArena() override {
        arena_.reset();
        if (block_ && spares_.size() < max_spares) spares_.push_back(std::move(block_));
    }
    RequestArena(const RequestArena&) = delete;
    RequestArena& operator=(const RequestArena&) = delete;

    ArenaAllocator allocator() { return ArenaAllocator(this); }

private:
    static constexpr std::size_t max_spares = 64;

    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
        if (!arena_) {
            if (spares_.empty()) {
                block_ = std::make_unique<std::byte[]>(block_size);
            } else {
                block_ = std::move(spares_.back());
                spares_.pop_back();
            }
            arena_.emplace(block_.get(), block_size, overflow_);
        }
        return arena_->allocate(bytes, alignment);
    }
    // Freed with the arena: a field erased or replaced keeps its bytes until the request ends.
    void do_deallocate(void*, std::size_t, std::size_t) override {}
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

    Spares& spares_;
    std::pmr::memory_resource* overflow_;
    std::unique_ptr<std::byte[]> block_;
    std::optional<std::pmr::monotonic_buffer_resource> arena_;
};

}  // namespace ig

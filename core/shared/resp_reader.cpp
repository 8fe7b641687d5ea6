#include "core/shared/resp_reader.hpp"

#include <hiredis/hiredis.h>

namespace ig {
namespace {

// What the reply being read has cost so far; hiredis passes it to every object it creates.
struct Budget {
    std::size_t max_elements = 0;
    std::size_t elements = 0;
    bool over = false;

    // One value, plus the values an array announces (charged when it is announced, before hiredis
    // allocates room for them; the values of an array then cost nothing more themselves).
    bool take(const redisReadTask* task, long long announced) {
        const std::size_t own = task->parent ? 0 : 1;
        if (announced < 0 || static_cast<unsigned long long>(announced) > max_elements ||
            elements + own + static_cast<std::size_t>(announced) > max_elements) {
            over = true;
            return false;
        }
        elements += own + static_cast<std::size_t>(announced);
        return true;
    }
};

Budget& budget_of(const redisReadTask* task) { return *static_cast<Budget*>(task->privdata); }

// hiredis' own object functions, which the counting ones below hand over to.
const redisReplyObjectFunctions& defaults() {
    static const redisReplyObjectFunctions fn = [] {
        redisReader* r = redisReaderCreate();
        const redisReplyObjectFunctions copy = *r->fn;
        redisReaderFree(r);
        return copy;
    }();
    return fn;
}

void* create_string(const redisReadTask* t, char* s, size_t n) {
    return budget_of(t).take(t, 0) ? defaults().createString(t, s, n) : nullptr;
}
void* create_array(const redisReadTask* t, int n) {
    return budget_of(t).take(t, n) ? defaults().createArray(t, n) : nullptr;
}
void* create_integer(const redisReadTask* t, long long v) {
    return budget_of(t).take(t, 0) ? defaults().createInteger(t, v) : nullptr;
}
void* create_nil(const redisReadTask* t) { return budget_of(t).take(t, 0) ? defaults().createNil(t) : nullptr; }
void free_object(void* o) { defaults().freeObject(o); }

redisReplyObjectFunctions counting_functions{create_string, create_array, create_integer, create_nil, free_object};

RedisReply convert(const redisReply* r) {
    RedisReply out;
    switch (r->type) {
        case REDIS_REPLY_STRING:
            out.type = RedisReply::Type::String;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = RedisReply::Type::Status;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = RedisReply::Type::Error;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = RedisReply::Type::Integer;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_NIL: out.type = RedisReply::Type::Nil; break;
        case REDIS_REPLY_ARRAY:
            out.type = RedisReply::Type::Array;
            for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
            break;
        default:
            out.type = RedisReply::Type::Failed;
            out.str = "unexpected reply type";
            break;
    }
    return out;
}

struct ReaderDeleter {
    void operator()(redisReader* r) const { redisReaderFree(r); }
};

}  // namespace

struct RespReader::Impl {
    RespLimits limits;
    Budget budget;
    std::unique_ptr<redisReader, ReaderDeleter> reader{redisReaderCreateWithFunctions(&counting_functions)};
    // Bytes of the reply being read (fed since the last complete one, less what followed it).
    std::size_t pending = 0;
};

RespReader::RespReader(RespLimits limits) : impl_(std::make_unique<Impl>()) {
    defaults();  // before the first reader uses counting_functions
    impl_->limits = limits;
    impl_->budget.max_elements = limits.max_elements;
    if (!impl_->reader) error_ = "out of memory";
    impl_->reader->privdata = &impl_->budget;
}

RespReader::~RespReader() = default;

bool RespReader::feed(const char* data, std::size_t n) {
    if (!error_.empty()) return false;
    impl_->pending += n;
    if (impl_->pending > impl_->limits.max_reply_bytes) {
        error_ = "a reply over " + std::to_string(impl_->limits.max_reply_bytes) + " bytes";
        return false;
    }
    if (redisReaderFeed(impl_->reader.get(), data, n) != REDIS_OK) {
        error_ = "protocol error";
        return false;
    }
    return true;
}

std::optional<RedisReply> RespReader::next() {
    if (!error_.empty()) return std::nullopt;
    auto* r = impl_->reader.get();
    void* raw = nullptr;
    if (redisReaderGetReply(r, &raw) != REDIS_OK) {
        error_ = impl_->budget.over ? "a reply with more than " + std::to_string(impl_->limits.max_elements) + " values"
                                    : "not the Redis protocol";
        return std::nullopt;
    }
    if (!raw) return std::nullopt;
    RedisReply out = convert(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    impl_->budget.elements = 0;
    impl_->pending = r->len - r->pos;  // what is left belongs to the replies after this one
    return out;
}

}  // namespace ig

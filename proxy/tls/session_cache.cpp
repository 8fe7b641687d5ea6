#include "proxy/tls/session_cache.hpp"

#include <ctime>

namespace ig {
namespace {

std::string_view id_of(const SSL_SESSION* session) {
    unsigned int len = 0;
    const unsigned char* id = SSL_SESSION_get_id(session, &len);
    return {reinterpret_cast<const char*>(id), len};
}

bool expired(const SSL_SESSION* session, std::time_t now) {
    return SSL_SESSION_get_time(session) + SSL_SESSION_get_timeout(session) < now;
}

int on_new_session(SSL*, SSL_SESSION* session) {
    process_session_cache().add(session);
    return 1;  // the cache keeps OpenSSL's reference
}

SSL_SESSION* on_get_session(SSL*, const unsigned char* id, int len, int* copy) {
    *copy = 0;  // find() already took the reference OpenSSL is given
    if (len <= 0) return nullptr;
    return process_session_cache().find({reinterpret_cast<const char*>(id), static_cast<std::size_t>(len)});
}

void on_remove_session(SSL_CTX*, SSL_SESSION* session) { process_session_cache().remove(session); }

}  // namespace

SessionCache::~SessionCache() {
    for (SSL_SESSION* s : order_) SSL_SESSION_free(s);
}

void SessionCache::add(SSL_SESSION* session) {
    const std::lock_guard lock(mutex_);
    std::string key(id_of(session));
    if (auto it = by_id_.find(key); it != by_id_.end()) {
        if (*it->second == session) return SSL_SESSION_free(session);  // held already
        drop(it);
    }
    order_.push_back(session);
    by_id_.emplace(std::move(key), std::prev(order_.end()));
    trim();
}

void SessionCache::set_capacity(std::size_t capacity) {
    const std::lock_guard lock(mutex_);
    capacity_ = capacity;
    trim();
}

// Oldest first is also (near enough) first to expire: those are let go here, not at exit.
void SessionCache::trim() {
    const std::time_t now = std::time(nullptr);
    while (!order_.empty() && (by_id_.size() > capacity_ || expired(order_.front(), now)))
        drop(by_id_.find(std::string(id_of(order_.front()))));
}

SSL_SESSION* SessionCache::find(std::string_view id) {
    const std::lock_guard lock(mutex_);
    auto it = by_id_.find(std::string(id));
    if (it == by_id_.end()) return nullptr;
    SSL_SESSION_up_ref(*it->second);
    return *it->second;
}

void SessionCache::remove(const SSL_SESSION* session) {
    const std::lock_guard lock(mutex_);
    auto it = by_id_.find(std::string(id_of(session)));
    if (it != by_id_.end() && *it->second == session) drop(it);
}

std::size_t SessionCache::size() {
    const std::lock_guard lock(mutex_);
    return by_id_.size();
}

void SessionCache::drop(Index::iterator it) {
    SSL_SESSION* session = *it->second;
    order_.erase(it->second);
    by_id_.erase(it);
    SSL_SESSION_free(session);
}

SessionCache& process_session_cache() {
    // Never destroyed: a context may still call in while the process exits.
    static auto* const cache = new SessionCache(0);
    return *cache;
}

void use_process_session_cache(SSL_CTX* ctx, std::size_t capacity) {
    process_session_cache().set_capacity(capacity);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);  // a TLS 1.3 ticket then carries the session ID only
    SSL_CTX_set_session_cache_mode(ctx,
                                   SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL | SSL_SESS_CACHE_NO_AUTO_CLEAR);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    SSL_CTX_sess_set_get_cb(ctx, on_get_session);
    SSL_CTX_sess_set_remove_cb(ctx, on_remove_session);
}

}  // namespace ig

#pragma once
// The TLS sessions the front end can resume, kept in the process's memory: TLS 1.2 session IDs
// and TLS 1.3 stateful tickets (the ticket is the session's ID). See docs/hostile-clients.md
// "Certificates and resumed sessions" and docs/performance.md.
#include <openssl/ssl.h>

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ig {

// Sessions by ID, at most `capacity`, the oldest dropped first; expired ones at the front are
// dropped when a session is added (OpenSSL refuses any expired one it is handed anyway). Holds one
// reference to each.
// OpenSSL calls in from every worker thread; the lock is held for a look-up or an insertion only.
class SessionCache {
public:
    explicit SessionCache(std::size_t capacity) : capacity_(capacity) {}
    ~SessionCache();
    SessionCache(const SessionCache&) = delete;
    SessionCache& operator=(const SessionCache&) = delete;

    void add(SSL_SESSION* session);  // takes over the caller's reference
    SSL_SESSION* find(std::string_view id);  // a new reference for the caller, or null
    void remove(const SSL_SESSION* session);  // only that session, not another with its ID
    std::size_t size();
    void set_capacity(std::size_t capacity);  // drops the oldest over it

private:
    using Order = std::list<SSL_SESSION*>;
    using Index = std::unordered_map<std::string, Order::iterator>;
    void drop(Index::iterator it);
    void trim();

    std::mutex mutex_;
    std::size_t capacity_;
    Order order_;
    Index by_id_;
};

// The process's cache: each session holds an SSL_SESSION (~1 kB) and shares the parsed client
// certificate with the other sessions resumed from the same full handshake.
SessionCache& process_session_cache();

// Makes `ctx` store and look up its sessions in process_session_cache(), shared by every worker
// and by the contexts of later reloads, and sets that cache's capacity. No ticket is encrypted or
// decrypted: a resumption finds its session with the client certificate already parsed.
void use_process_session_cache(SSL_CTX* ctx, std::size_t capacity);

}  // namespace ig

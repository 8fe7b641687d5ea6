#define BOOST_TEST_MODULE session_cache
#include <boost/test/unit_test.hpp>

#include "core/tls/openssl_ptr.hpp"
#include "proxy/tls/session_cache.hpp"
#include "proxy/tls/tls_context.hpp"
#include "tests/support/test_pki.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <ctime>
#include <fstream>
#include <string>

namespace {

using ig::test::test_pki;

struct SessionFree {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

SessionPtr session_with_id(unsigned char first) {
    SessionPtr s(SSL_SESSION_new());
    unsigned char id[32] = {first};
    BOOST_REQUIRE(SSL_SESSION_set1_id(s.get(), id, sizeof id) == 1);
    return s;
}

std::string id_of(const SSL_SESSION* s) {
    unsigned int len = 0;
    const unsigned char* id = SSL_SESSION_get_id(s, &len);
    return {reinterpret_cast<const char*>(id), len};
}

// The front end's context, made as a (re)load makes it.
std::unique_ptr<boost::asio::ssl::context> server_context(const std::filesystem::path& client_ca,
                                                          std::size_t session_cache = 10000) {
    ig::TlsConfig tls;
    tls.session_cache = session_cache;
    tls.certificate = test_pki() / "server.crt";
    tls.private_key = test_pki() / "server.key";
    tls.client_ca = client_ca;
    return ig::make_server_tls_context(tls);
}

ig::SslCtxPtr client_context(int version) {
    ig::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_min_proto_version(ctx.get(), version);
    SSL_CTX_set_max_proto_version(ctx.get(), version);
    BOOST_REQUIRE(
        SSL_CTX_use_certificate_file(ctx.get(), (test_pki() / "device-compliant.crt").c_str(), SSL_FILETYPE_PEM) == 1);
    BOOST_REQUIRE(
        SSL_CTX_use_PrivateKey_file(ctx.get(), (test_pki() / "device-compliant.key").c_str(), SSL_FILETYPE_PEM) == 1);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
    return ctx;
}

struct Connection {
    bool reused = false;
    SessionPtr client_session;  // what the client keeps to resume with
};

// A handshake over a BIO pair, offering `offer` when given, then one byte from the server so the
// client reads the TLS 1.3 ticket that follows the handshake.
Connection connect(SSL_CTX* server_ctx, SSL_CTX* client_ctx, SSL_SESSION* offer) {
    ig::SslPtr server(SSL_new(server_ctx));
    ig::SslPtr client(SSL_new(client_ctx));
    BIO* a = nullptr;
    BIO* b = nullptr;
    BOOST_REQUIRE(BIO_new_bio_pair(&a, 0, &b, 0) == 1);
    SSL_set_bio(client.get(), a, a);
    SSL_set_bio(server.get(), b, b);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    if (offer) BOOST_REQUIRE(SSL_set_session(client.get(), offer) == 1);
    int rc = 0;
    int rs = 0;
    for (int i = 0; i < 20 && (rc != 1 || rs != 1); ++i) {
        if (rc != 1) rc = SSL_do_handshake(client.get());
        if (rs != 1) rs = SSL_do_handshake(server.get());
    }
    if (rc != 1 || rs != 1) ERR_print_errors_fp(stderr);
    BOOST_REQUIRE_MESSAGE(rc == 1 && rs == 1, "handshake did not complete: client " << SSL_get_error(client.get(), rc)
                                                                                    << ", server "
                                                                                    << SSL_get_error(server.get(), rs));
    char byte = 'x';
    BOOST_REQUIRE(SSL_write(server.get(), &byte, 1) == 1);
    BOOST_REQUIRE(SSL_read(client.get(), &byte, 1) == 1);
    SSL_shutdown(server.get());  // as the gateway ends a connection (see test_tls_stream for the other ends)
    SSL_set_shutdown(client.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);  // keeps the client's copy resumable
    return {SSL_session_reused(server.get()) == 1, SessionPtr(SSL_get1_session(client.get()))};
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_cache_drops_its_oldest_session_over_capacity) {
    ig::SessionCache cache(2);
    cache.add(session_with_id(1).release());
    cache.add(session_with_id(2).release());
    cache.add(session_with_id(3).release());
    BOOST_TEST(cache.size() == 2u);
    BOOST_TEST(!cache.find(id_of(session_with_id(1).get())));
    SessionPtr third(cache.find(id_of(session_with_id(3).get())));
    BOOST_TEST(third != nullptr);
}

BOOST_AUTO_TEST_CASE(expired_sessions_go_when_a_new_one_comes) {
    ig::SessionCache cache(8);
    SessionPtr old = session_with_id(1);
    SSL_SESSION_set_time(old.get(), std::time(nullptr) - 7200);
    SSL_SESSION_set_timeout(old.get(), 3600);
    cache.add(old.release());
    cache.add(session_with_id(2).release());
    BOOST_TEST(cache.size() == 1u);
    BOOST_TEST(!cache.find(id_of(session_with_id(1).get())));
}

BOOST_AUTO_TEST_CASE(a_found_session_outlives_the_cache) {
    SessionPtr found;
    {
        ig::SessionCache cache(4);
        cache.add(session_with_id(7).release());
        found.reset(cache.find(id_of(session_with_id(7).get())));
    }
    BOOST_REQUIRE(found);
    BOOST_TEST(id_of(found.get()) == id_of(session_with_id(7).get()));  // still alive (ASan checks)
}

BOOST_AUTO_TEST_CASE(only_the_held_session_is_removed_not_another_with_its_id) {
    ig::SessionCache cache(4);
    SSL_SESSION* held = session_with_id(9).release();
    cache.add(held);
    SessionPtr impostor = session_with_id(9);
    cache.remove(impostor.get());
    BOOST_TEST(cache.size() == 1u);
    cache.remove(held);
    BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_CASE(adding_the_held_session_again_keeps_one_entry) {
    ig::SessionCache cache(4);
    SSL_SESSION* s = session_with_id(5).release();
    cache.add(s);
    SSL_SESSION_up_ref(s);
    cache.add(s);  // gives its second reference to the cache, which already holds one
    BOOST_TEST(cache.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_session_resumes_on_a_context_reloaded_from_the_same_files) {
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        BOOST_TEST_CONTEXT("TLS version " << std::hex << version) {
            auto first = server_context(test_pki() / "device-ca.crt");
            auto reloaded = server_context(test_pki() / "device-ca.crt");
            auto client = client_context(version);
            Connection full = connect(first->native_handle(), client.get(), nullptr);
            BOOST_TEST(!full.reused);
            BOOST_REQUIRE(full.client_session);
            Connection again = connect(reloaded->native_handle(), client.get(), full.client_session.get());
            BOOST_TEST(again.reused);
            Connection third = connect(first->native_handle(), client.get(), again.client_session.get());
            BOOST_TEST(third.reused);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_context_with_other_client_cas_makes_a_full_handshake) {
    const auto bundle = test_pki() / "session-cache-bundle.pem";
    {
        std::ofstream out(bundle);
        out << std::ifstream(test_pki() / "device-ca.crt").rdbuf()
            << std::ifstream(test_pki() / "other-ca.crt").rdbuf();
    }
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        BOOST_TEST_CONTEXT("TLS version " << std::hex << version) {
            auto before = server_context(bundle);
            auto after = server_context(test_pki() / "device-ca.crt");  // a CA left client_ca
            auto client = client_context(version);
            Connection full = connect(before->native_handle(), client.get(), nullptr);
            BOOST_REQUIRE(full.client_session);
            Connection next = connect(after->native_handle(), client.get(), full.client_session.get());
            BOOST_TEST(!next.reused);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_session_a_handshake_makes_is_in_the_process_cache) {
    auto server = server_context(test_pki() / "device-ca.crt");
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        auto client = client_context(version);
        const std::size_t before = ig::process_session_cache().size();
        Connection c = connect(server->native_handle(), client.get(), nullptr);
        BOOST_TEST(ig::process_session_cache().size() == before + 1);
        // A TLS 1.2 client keeps the server's session ID (a TLS 1.3 one a digest of its ticket).
        if (version == TLS1_2_VERSION)
            BOOST_TEST(SessionPtr(ig::process_session_cache().find(id_of(c.client_session.get()))));
    }
}

BOOST_AUTO_TEST_CASE(a_smaller_capacity_drops_the_oldest_sessions) {
    ig::SessionCache cache(4);
    for (unsigned char i = 1; i <= 4; ++i) cache.add(session_with_id(i).release());
    cache.set_capacity(2);
    BOOST_TEST(cache.size() == 2u);
    BOOST_TEST(!SessionPtr(cache.find(id_of(session_with_id(2).get()))));
    BOOST_TEST(SessionPtr(cache.find(id_of(session_with_id(4).get()))));
}

BOOST_AUTO_TEST_CASE(session_cache_0_turns_resumption_off) {
    auto server = server_context(test_pki() / "device-ca.crt", 0);
    BOOST_TEST(ig::process_session_cache().size() == 0u);  // the sessions of earlier contexts went too
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        BOOST_TEST_CONTEXT("TLS version " << std::hex << version) {
            auto client = client_context(version);
            Connection full = connect(server->native_handle(), client.get(), nullptr);
            Connection next = connect(server->native_handle(), client.get(), full.client_session.get());
            BOOST_TEST(!next.reused);
        }
    }
}

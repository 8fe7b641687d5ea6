// Boost assertions stay on in the fuzz build (they catch misuse) and abort, except one:
// Beast 1.81's chunk parser asserts `n >= 5` when the final chunk "0\r\n" and what follows it
// arrive in separate pieces, although its code handles that case (the assertion was corrected
// in Boost 1.86, boostorg/beast pull request 2861). Release builds define NDEBUG and never see it.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
    if (std::strcmp(expr, "n >= 5") == 0 && std::strstr(file, "beast/http/impl/basic_parser.ipp")) return;
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
    std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
    std::abort();
}

}  // namespace boost

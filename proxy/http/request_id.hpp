#pragma once
// The per-request ID (X-Request-Id, access log, reject bodies), for the front end and the
// authorization endpoint alike.
#include <string>

namespace ig {

// 128 random bits as 32 lower-case hex digits.
std::string new_request_id();

}  // namespace ig

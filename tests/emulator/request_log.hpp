#pragma once
// Off by default (unit tests stay quiet); the binary turns it on so shell tests can see traffic.
// One line per request on stdout: method, path without the query, status. Never headers or bodies.
namespace ig::test {

void set_request_log(bool on);

}  // namespace ig::test

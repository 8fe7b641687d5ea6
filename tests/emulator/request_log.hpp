#pragma once
// Off by default (unit tests stay quiet); the binary turns it on so shell tests can see traffic.
// One line per request on stdout: method, path without the query, status, and the caller's
// client-request-id when it sent a GUID. No other header, never a body.
namespace ig::test {

void set_request_log(bool on);

}  // namespace ig::test

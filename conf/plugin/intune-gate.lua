-- intune-gate's authorization check for HAProxy 2.6 or later, with HAProxy's own Lua HTTP client
-- (core.httpclient): no outside Lua library. conf/plugin/haproxy.cfg shows its use; docs/plugin-mode.md
-- explains the answers. Tested end to end by tests/e2e/test_authz_haproxy.sh (Debian 12's HAProxy 2.6).
--
--   global
--       lua-load /etc/haproxy/intune-gate.lua
--   frontend app
--       http-request set-var(txn.intune_cert) ssl_c_der,base64 if { ssl_c_used }
--       http-request lua.intune_gate http://127.0.0.1:9191/authz
--
-- The check carries only the verified certificate (Client-Cert, base64 DER) and where the request
-- came from; none of the client's own headers. On a 2xx every header of the answer but the framing
-- ones is set on the request (an empty one removed), after every X-Intune-* the client sent was
-- removed; a 3xx is sent to the client with its Location; anything else is answered with the
-- check's status and body. No answer from intune-gate (down, slow, something else answering):
-- 503, the request goes nowhere.

local timeout_ms = 10000

-- Answer headers that describe the check's own message, not the device.
local framing = {
    ["connection"] = true, ["content-length"] = true, ["content-type"] = true, ["date"] = true,
    ["keep-alive"] = true, ["server"] = true, ["transfer-encoding"] = true,
}

local function fail_closed(txn, why)
    txn:Warning("intune-gate check failed: " .. why)
    txn:done{
        status = 503,
        headers = { ["content-type"] = { "application/json" }, ["cache-control"] = { "no-store" } },
        body = '{"reason":"compliance service unavailable"}\n',
    }
end

-- The first value of a header in an httpclient answer ("" when absent).
local function first(headers, name)
    local values = headers[name]
    if values == nil then return "" end
    return values[0] or values[1] or ""
end

-- A 2xx: the client's copies go, the answer's facts arrive.
local function forward(txn, res)
    for name, _ in pairs(txn.http:req_get_headers()) do
        if string.sub(string.lower(name), 1, 9) == "x-intune-" then txn.http:req_del_header(name) end
    end
    for name, _ in pairs(res.headers) do
        local lower = string.lower(name)
        if not framing[lower] then
            local value = first(res.headers, name)
            if value == "" then
                txn.http:req_del_header(lower)
            else
                txn.http:req_set_header(lower, value)
            end
        end
    end
end

-- A redirect or a reject: the client gets the check's status, and its Location or its body.
local function refuse(txn, res)
    local headers = { ["cache-control"] = { "no-store" } }
    for _, name in ipairs({ "location", "content-type", "x-request-id", "x-intune-outcome" }) do
        local value = first(res.headers, name)
        if value ~= "" then headers[name] = { value } end
    end
    txn:done{ status = res.status, headers = headers, body = res.body or "" }
end

core.register_action("intune_gate", { "http-req" }, function(txn, url)
    local headers = {
        ["x-forwarded-for"] = { txn.sf:src() },
        ["x-original-method"] = { txn.sf:method() },
        ["x-original-uri"] = { txn.sf:url() },
        -- The check's own Host names the gateway; the site the client asked for, for a redirect's
        -- {return_url} and for access policies that name hosts, travels here (docs/plugin-mode.md,
        -- docs/policies.md). HAProxy terminated the client's TLS.
        ["x-forwarded-host"] = { txn.sf:req_fhdr("host") or "" },
        ["x-forwarded-proto"] = { "https" },
    }
    local cert = txn:get_var("txn.intune_cert")
    if cert ~= nil and cert ~= "" then headers["client-cert"] = { cert } end

    local ok, res = pcall(function()
        return core.httpclient():get{ url = url, headers = headers, timeout = timeout_ms }
    end)
    if not ok then return fail_closed(txn, tostring(res)) end
    if res == nil or res.status == nil or res.status == 0 then return fail_closed(txn, "no answer from " .. url) end
    -- intune-gate marks every answer with X-Request-Id; HAProxy's own 503 (nothing listening) has none.
    if first(res.headers, "x-request-id") == "" then
        return fail_closed(txn, "HTTP " .. tostring(res.status) .. " without X-Request-Id from " .. url)
    end
    if res.status >= 200 and res.status < 300 then return forward(txn, res) end
    if res.status >= 300 and res.status < 600 then return refuse(txn, res) end
    return fail_closed(txn, "status " .. tostring(res.status))
end, 1)

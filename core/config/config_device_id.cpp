// The "device_id" section: where the device ID is read from, and from whom a header is believed.
#include "core/config/config_loader.hpp"

#include "core/text/header_names.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace ig::config_load {

void Loader::device_id(const json* v, DeviceIdConfig& out) {
    auto o = object(v, "/device_id", {"sources", "san_uri_scheme", "header", "trusted_peers", "lookup"});
    if (!o) return;
    if (auto* s = o->get("sources")) {
        if (!s->is_array()) {
            type_error(o->at("sources"), "array", *s);
        } else if (s->empty()) {
            error(o->at("sources"), "must name at least one source");
        } else {
            std::vector<IdSource> sources;
            for (std::size_t i = 0; i < s->size(); ++i) {
                auto ptr = o->at("sources") + "/" + std::to_string(i);
                auto name = string((*s)[i], ptr, true);
                if (!name) continue;
                IdSource id;
                if (*name == "san_uri")
                    id = IdSource::SanUri;
                else if (*name == "subject_cn")
                    id = IdSource::SubjectCn;
                else if (*name == "header")
                    id = IdSource::Header;
                else {
                    error(ptr, "must be one of \"san_uri\", \"subject_cn\", \"header\", got " + in_quotes(*name));
                    continue;
                }
                if (std::find(sources.begin(), sources.end(), id) != sources.end())
                    error(ptr, in_quotes(*name) + " is listed twice");
                else
                    sources.push_back(id);
            }
            out.sources = std::move(sources);
        }
    }
    if (auto* s = o->get("san_uri_scheme")) {
        if (auto scheme = string(*s, o->at("san_uri_scheme"))) {
            bool ok = std::isalpha(static_cast<unsigned char>(scheme->front())) &&
                      std::all_of(scheme->begin(), scheme->end(), [](char c) {
                          return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
                      });
            if (ok)
                out.san_uri_scheme = *scheme;
            else
                error(o->at("san_uri_scheme"), "is not a valid URI scheme: " + in_quotes(*scheme));
        }
    }
    if (auto* h = o->get("header")) {
        if (auto name = string(*h, o->at("header"))) {
            if (!is_token(*name))
                error(o->at("header"), "is not a valid header name: " + in_quotes(*name));
            else if (is_reserved_device_header(*name))
                error(o->at("header"), in_quotes(*name) + " is a header the gateway or HTTP itself sets");
            else
                out.header = *name;
        }
    }
    if (auto* t = o->get("trusted_peers")) {
        if (!t->is_array()) {
            type_error(o->at("trusted_peers"), "array", *t);
        } else {
            for (std::size_t i = 0; i < t->size(); ++i)
                if (auto c = cidr((*t)[i], o->at("trusted_peers") + "/" + std::to_string(i)))
                    out.trusted_peers.push_back(*c);
        }
    }
    if (auto c = choice(*o, "lookup", {"intune", "entra", "either"})) out.lookup = static_cast<DeviceLookup>(*c);
    bool header_source = std::find(out.sources.begin(), out.sources.end(), IdSource::Header) != out.sources.end();
    if (header_source && out.trusted_peers.empty())
        warn("/device_id/sources", "\"header\" is listed but trusted_peers is empty, so the header is never honoured");
}

}  // namespace ig::config_load

#pragma once
// What the deny page says when an access policy denies a request, in plain words per requirement
// (README: Access policies): what the site needs, what the device reports, what to do. The words
// hold Graph's text (sanitised); the page escapes them when it inserts them. Pure: no I/O.
#include "core/policy/policy_check.hpp"

#include <string>

namespace ig {

struct PolicyWords {
    std::string title;
    std::string happened;
    std::string todo;
};

// check: a Deny with its failure; verdict: the device's (its facts).
PolicyWords policy_words(const PolicyCheck& check, const Verdict& verdict);

}  // namespace ig

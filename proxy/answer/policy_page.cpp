#include "proxy/answer/policy_page.hpp"

#include "core/policy/version.hpp"

#include <algorithm>
#include <cctype>

namespace ig {
namespace {

constexpr std::string_view check_status =
    "Open the Company Portal app on this device and choose Check status, wait a few minutes, then try again.";
constexpr std::string_view ask_help_desk =
    "If you think this is a mistake, contact your help desk and give them the request ID below.";

bool iequal(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

std::string device_word(std::string_view os) {
    if (iequal(os, "Windows")) return "your PC";
    if (iequal(os, "macOS")) return "your Mac";
    if (iequal(os, "iOS") || iequal(os, "iPadOS")) return "your iPhone or iPad";
    if (iequal(os, "Android")) return "your Android device";
    return "your device";
}

std::string listed(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i)
        out += (i == 0 ? "" : i + 1 == items.size() ? " or " : ", ") + items[i];
    return out;
}

PolicyWords os_words(const Requirements& r, const DeviceFacts& f) {
    const std::string& os = f.operating_system;
    auto it = std::find_if(r.os.begin(), r.os.end(), [&](const auto& e) { return iequal(e.first, os); });
    if (os.empty() || it == r.os.end()) {
        std::vector<std::string> names;
        for (const auto& [name, version] : r.os) names.push_back(name);
        return {"This site isn't available on this device",
                "This site accepts only devices running " + listed(names) + "; this device reports " +
                    (os.empty() ? std::string("no operating system") : os) + ".",
                "Use a device running " + listed(names) + ". " + std::string(ask_help_desk)};
    }
    const std::string& minimum = it->second;
    if (!comparable_version(f.os_version))
        return {"Your device hasn't reported its " + os + " version",
                "This site needs " + os + " " + minimum +
                    " or later, and Microsoft Intune has no version number "
                    "for this device.",
                std::string(check_status)};
    return {
        "Update " + os + " to use this site",
        "This site needs " + os + " " + minimum + " or later; " + device_word(os) + " reports " + f.os_version + ".",
        "Update " + os + " to " + minimum +
            " or later, then try again. After the update, open the Company "
            "Portal app and choose Check status so that the new version is seen sooner."};
}

PolicyWords encrypted_words(const Requirements& r, const DeviceFacts& f) {
    if (!f.encrypted)
        return {"Your device hasn't reported its encryption",
                "This site needs an encrypted device, and Microsoft Intune has not reported whether this device is "
                "encrypted.",
                std::string(check_status)};
    if (!*r.encrypted)
        return {"This site needs a device without encryption", "This site is set up for unencrypted devices only.",
                std::string(ask_help_desk)};
    const std::string& os = f.operating_system;
    std::string how = "Turn on encryption in your device's settings";
    if (iequal(os, "Windows")) how = "Turn on BitLocker (Settings, Privacy & security, Device encryption)";
    if (iequal(os, "macOS")) how = "Turn on FileVault (System Settings, Privacy & Security)";
    return {"Turn on encryption to use this site",
            "This site needs a device whose storage is encrypted; Microsoft Intune reports that this device is not "
            "encrypted.",
            how + ", then open the Company Portal app, choose Check status and try again."};
}

PolicyWords jailbroken_words(const DeviceFacts& f) {
    if (iequal(f.jailbroken, "True"))
        return {"This site can't be used from this device",
                "This site needs a device that is not jailbroken or rooted; Microsoft Intune reports that this device "
                "is jailbroken or rooted.",
                "Use another device. " + std::string(ask_help_desk)};
    return {"Your device hasn't reported whether it is jailbroken",
            "This site needs a device that is not jailbroken or rooted, and Microsoft Intune has not reported this "
            "device's state.",
            std::string(check_status)};
}

PolicyWords owner_words(const Requirements& r, const DeviceFacts& f) {
    const bool company = std::find(r.owner.begin(), r.owner.end(), "company") != r.owner.end();
    const std::string wanted = company ? "company-owned" : "personal";
    std::string reported = "its owner is not known";
    if (iequal(f.owner, "personal")) reported = "it is marked as personal";
    if (iequal(f.owner, "company")) reported = "it is marked as company-owned";
    return {"This site needs a " + wanted + " device",
            "This site accepts only devices your organization marks as " + wanted + " in Microsoft Intune; " +
                reported + ".",
            (company ? "Use your company device. " : "Use your personal device. ") + std::string(ask_help_desk)};
}

PolicyWords sync_words(const Requirements& r, const DeviceFacts& f, const RequirementResult& failure) {
    // failure.detail: "last check-in with Intune N hours ago, more than M"
    const std::string last = f.last_sync_ms ? "its " + failure.detail.substr(0, failure.detail.find(','))
                                            : std::string("it has never checked in");
    return {"Your device needs to check in with Intune",
            "This site needs a device that checked in with Microsoft Intune within the last " +
                std::to_string(*r.max_sync_age_h) + " hours; " + last + ".",
            "Connect to the internet, open the Company Portal app and choose Check status (or Sync), wait a few "
            "minutes, then try again."};
}

}  // namespace

PolicyWords policy_words(const PolicyCheck& check, const Verdict& verdict) {
    const Requirements& r = check.policy->require;
    const DeviceFacts& f = verdict.facts;
    switch (check.failure->requirement) {
        case Requirement::Outcomes:
            return {"Your device doesn't meet this site's requirements",
                    "This site needs a device that Microsoft Intune reports as compliant with your organization's "
                    "policies; the result for this device is " +
                        std::string(to_string(verdict.outcome)) + ".",
                    "Open the Company Portal app, choose Check status and fix what it lists, then try again."};
        case Requirement::Os: return os_words(r, f);
        case Requirement::Encrypted: return encrypted_words(r, f);
        case Requirement::Jailbroken: return jailbroken_words(f);
        case Requirement::Owner: return owner_words(r, f);
        case Requirement::MaxSyncAge: return sync_words(r, f, *check.failure);
    }
    return {};
}

}  // namespace ig

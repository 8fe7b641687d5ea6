#include "core/graph/managed_device_properties.hpp"

#include <boost/algorithm/string/predicate.hpp>

#include <utility>

namespace ig {

namespace {

// The structural properties of microsoft.graph.managedDevice in Graph v1.0, as Microsoft's v1.0
// metadata defines them (the msgraph-sdk-go v1.0 model, generated from it, and the
// "managedDevice resource type" page of the Graph v1.0 reference). Navigation properties
// (deviceCategory, users, deviceCompliancePolicyStates, ...) are not values $select returns.
constexpr std::string_view v1_properties[] = {
    "id",
    "activationLockBypassCode",
    "androidSecurityPatchLevel",
    "azureADDeviceId",
    "azureADRegistered",
    "complianceGracePeriodExpirationDateTime",
    "complianceState",
    "configurationManagerClientEnabledFeatures",
    "deviceActionResults",
    "deviceCategoryDisplayName",
    "deviceEnrollmentType",
    "deviceHealthAttestationState",
    "deviceName",
    "deviceRegistrationState",
    "easActivated",
    "easActivationDateTime",
    "easDeviceId",
    "emailAddress",
    "enrolledDateTime",
    "ethernetMacAddress",
    "exchangeAccessState",
    "exchangeAccessStateReason",
    "exchangeLastSuccessfulSyncDateTime",
    "freeStorageSpaceInBytes",
    "iccid",
    "imei",
    "isEncrypted",
    "isSupervised",
    "jailBroken",
    "lastSyncDateTime",
    "managedDeviceName",
    "managedDeviceOwnerType",
    "managementAgent",
    "managementCertificateExpirationDate",
    "manufacturer",
    "meid",
    "model",
    "notes",
    "operatingSystem",
    "osVersion",
    "partnerReportedThreatState",
    "phoneNumber",
    "physicalMemoryInBytes",
    "remoteAssistanceSessionErrorDetails",
    "remoteAssistanceSessionUrl",
    "requireUserEnrollmentApproval",
    "serialNumber",
    "subscriberCarrier",
    "totalStorageSpaceInBytes",
    "udid",
    "userDisplayName",
    "userId",
    "userPrincipalName",
    "wiFiMacAddress",
    // Not in that model yet, but v1.0 returns it (reported in microsoftgraph/msgraph-metadata#664).
    "enrollmentProfileName",
};

// Beta-only names with a v1.0 property that carries the same fact (the beta managedDevice page
// lists both ownerType and managedDeviceOwnerType; azureActiveDirectoryDeviceId is beta's
// spelling of azureADDeviceId).
constexpr std::pair<std::string_view, std::string_view> beta_names[] = {
    {"ownerType", "managedDeviceOwnerType"},
    {"azureActiveDirectoryDeviceId", "azureADDeviceId"},
};

}  // namespace

std::optional<std::string_view> v1_device_property(std::string_view name) {
    for (auto p : v1_properties)
        if (boost::algorithm::iequals(p, name)) return p;
    return std::nullopt;
}

std::optional<std::string_view> v1_replacement(std::string_view name) {
    for (auto [beta, v1] : beta_names)
        if (boost::algorithm::iequals(beta, name)) return v1;
    return std::nullopt;
}

}  // namespace ig

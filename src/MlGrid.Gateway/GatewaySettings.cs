using MlGrid.Gateway.Auth;
using MlGrid.Gateway.Limits;
using MlGrid.Gateway.Shadow;
using MlGrid.Hosting;

namespace MlGrid.Gateway;

/// <summary>Everything the gateway reads from configuration; the Azure deployment is checked against it.</summary>
public static class GatewaySettings
{
    /// <summary>Where the control plane is, as Aspire's service discovery names it (also the AppHost's reference).</summary>
    public const string ControlPlaneUrlKey = "services:controlplane:http:0";

    public static ServiceSettingsCatalog Catalog { get; } = new(
        "gateway",
        [
            .. ServiceSettings.Common,
            new(ControlPlaneUrlKey, true, "the control plane's URL, where /api/** is proxied"),
            new($"{GatewayOptions.Section}:AdminKey", true, "the bootstrap admin API key"),
            new($"{GovernanceOptions.Section}:InternalKey", true, "the key the control plane checks gateway calls with"),
        ],
        [
            new(GatewayOptions.Section, typeof(GatewayOptions)),
            new(GovernanceOptions.Section, typeof(GovernanceOptions)),
            new(ShadowOptions.Section, typeof(ShadowOptions)),
            new(RateLimitOptions.Section, typeof(RateLimitOptions)),
            new(BodyLimitOptions.Section, typeof(BodyLimitOptions)),
            new(EntraIdOptions.Section, typeof(EntraIdOptions)),
        ]);
}

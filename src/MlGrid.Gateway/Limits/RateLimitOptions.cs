using System.ComponentModel.DataAnnotations;

namespace MlGrid.Gateway.Limits;

/// <summary>Default request rates, each a token bucket holding one second's worth; 0 means unlimited.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Gateway:RateLimits";

    /// <summary>Calls a second per caller (API key, Entra ID principal) whose key does not set its own rate.</summary>
    [Range(0, 1_000_000)]
    public int KeyRequestsPerSecond { get; set; }

    /// <summary>Inference calls a second per endpoint whose routing entry does not set its own rate.</summary>
    [Range(0, 1_000_000)]
    public int EndpointRequestsPerSecond { get; set; }
}

using System.ComponentModel.DataAnnotations;

namespace MlGrid.Gateway.Auth;

/// <summary>What the gateway shares with the control plane to vouch for the callers it forwards.</summary>
public sealed class GovernanceOptions
{
    public const string Section = "Governance";

    /// <summary>
    /// Sent as <c>x-mlgrid-internal-key</c> with every call forwarded to the control plane, which trusts the identity
    /// headers only alongside it. Callers never see it.
    /// </summary>
    [Required(ErrorMessage = "Governance:InternalKey is required (the AppHost sets Governance__InternalKey for the gateway and the control plane).")]
    [MinLength(32, ErrorMessage = "Governance:InternalKey must be at least 32 characters.")]
    public string InternalKey { get; set; } = "";
}

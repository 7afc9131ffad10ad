using System.ComponentModel.DataAnnotations;

namespace MlGrid.ControlPlane.Governance;

public sealed class GovernanceOptions
{
    public const string Section = "Governance";

    /// <summary>
    /// The secret gateways send in <c>x-mlgrid-internal-key</c> to prove a call came through them; the AppHost
    /// passes the same value to the gateway and the control plane.
    /// </summary>
    [Required, MinLength(32)]
    public string InternalKey { get; set; } = "";
}

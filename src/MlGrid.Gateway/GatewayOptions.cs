using System.ComponentModel.DataAnnotations;

namespace MlGrid.Gateway;

public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>
    /// The bootstrap admin key, accepted besides the keys in the registry (which it is used to create); callers send
    /// it as <c>Authorization: Bearer &lt;key&gt;</c>.
    /// </summary>
    [Required(ErrorMessage = "Gateway:AdminKey is required (the AppHost passes MLGRID_ADMIN_KEY or a generated key).")]
    [MinLength(16)]
    public string AdminKey { get; set; } = "";

    /// <summary>Base URL of the control plane's management API; read from service discovery when empty.</summary>
    public string? ControlPlaneUrl { get; set; }
}

using System.ComponentModel.DataAnnotations;

namespace MlGrid.ControlPlane.Apis;

public sealed class ModelUploadOptions
{
    public const string Section = "Models";

    /// <summary>The largest model file accepted.</summary>
    [Range(1, long.MaxValue)]
    public long MaxModelBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Where uploads are spooled while they are hashed and verified.</summary>
    [Required]
    public string SpoolDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "mlgrid", "uploads");
}

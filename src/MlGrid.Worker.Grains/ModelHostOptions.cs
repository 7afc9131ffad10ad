using System.ComponentModel.DataAnnotations;

namespace MlGrid.Worker.Grains;

public sealed class ModelHostOptions
{
    public const string Section = "Worker";

    /// <summary>Where downloaded model files are kept; shared safely by workers on one machine.</summary>
    [Required]
    public string CacheDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "mlgrid", "models");

    /// <summary>"auto" probes for a usable CUDA device; "true"/"false" force the answer.</summary>
    [RegularExpression("^(auto|true|false)$")]
    public string Gpu { get; set; } = "auto";

    /// <summary>The base URL other processes use to reach this worker's inference surface; derived from the listen address when empty.</summary>
    public string? InferenceUrl { get; set; }
}

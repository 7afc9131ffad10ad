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

    /// <summary>How many training jobs this worker runs at once; 0 keeps it for inference only.</summary>
    [Range(0, 64)]
    public int TrainingSlots { get; set; } = 1;

    /// <summary>Where training attempts keep their dataset copy and exported model while they run.</summary>
    [Required]
    public string TrainingDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "mlgrid", "training");

    /// <summary>The base URL other processes use to reach this worker's inference surface; derived from the listen address when empty.</summary>
    public string? InferenceUrl { get; set; }
}

using System.ComponentModel.DataAnnotations;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>The MLflow artifact proxy's limits.</summary>
public sealed class MlflowArtifactOptions
{
    public const string Section = "Mlflow";

    /// <summary>The largest artifact file accepted in one upload (the gateway's upload limit applies before this).</summary>
    [Range(1, long.MaxValue)]
    public long MaxArtifactBytes { get; set; } = 2L * 1024 * 1024 * 1024;
}

using System.ComponentModel.DataAnnotations;

namespace MlGrid.Gateway.Limits;

/// <summary>The largest request bodies the gateway lets through, by kind of call.</summary>
public sealed class BodyLimitOptions
{
    public const string Section = "Gateway:Limits";

    /// <summary>JSON calls under <c>/api</c> (and <c>/gateway</c>).</summary>
    [Range(1, long.MaxValue)]
    public long MaxApiBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Uploads: model and dataset versions, MLflow artifacts.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBodyBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// Inference requests. Mirrored ones are buffered whole, so this must fit one array; workers accept 64 MiB, so a
    /// larger value only helps once they do too.
    /// </summary>
    [Range(1, int.MaxValue)]
    public long MaxInferenceBodyBytes { get; set; } = 64 * 1024 * 1024;
}

using System.ComponentModel.DataAnnotations;

namespace MlGrid.ControlPlane.Apis;

public sealed class DatasetUploadOptions
{
    public const string Section = "Datasets";

    /// <summary>The largest dataset file accepted (the gateway's upload limit applies before this).</summary>
    [Range(1, long.MaxValue)]
    public long MaxDatasetBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// The largest Parquet column chunk (one column of one row group) profiled; the profiler holds one chunk at a time,
    /// so this bounds its memory. Files with larger chunks are refused with a request to write smaller row groups.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxParquetColumnChunkBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Where uploads are spooled while they are hashed and profiled.</summary>
    [Required]
    public string SpoolDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "mlgrid", "uploads");
}

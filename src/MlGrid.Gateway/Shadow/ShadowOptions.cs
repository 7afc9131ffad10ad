using System.ComponentModel.DataAnnotations;

namespace MlGrid.Gateway.Shadow;

/// <summary>Limits of shadow (mirrored) traffic, so that a slow or failing shadow deployment never costs the live path.</summary>
public sealed class ShadowOptions
{
    public const string Section = "Gateway:Shadow";

    /// <summary>Copies waiting to be sent; more are dropped and counted.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>Copies in flight at once.</summary>
    [Range(1, 1024)]
    public int Concurrency { get; set; } = 16;

    /// <summary>
    /// Request bodies held for shadow copies, in bytes, from before the live request is forwarded until the copy has
    /// been sent; copies that do not fit are dropped and counted, and their live requests go on as usual.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxBufferedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How long one copy may take, connecting and reading the answer included.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

using System.Globalization;

namespace MlGrid.Contracts;

/// <summary>Silo metadata keys and values: the role of a silo and, for workers, where they serve and what capacity they have.</summary>
public static class SiloRoles
{
    public const string RoleKey = "mlgrid.role";
    public const string InferenceUrlKey = "mlgrid.inference-url";
    public const string GpuKey = "mlgrid.gpu";
    public const string CpuCoresKey = "mlgrid.cpu-cores";
    public const string MemoryBytesKey = "mlgrid.memory-bytes";
    public const string GpuNameKey = "mlgrid.gpu-name";
    public const string GpuMemoryBytesKey = "mlgrid.gpu-memory-bytes";
    public const string Control = "control";
    public const string Worker = "worker";
}

/// <summary>What the worker filter reads: the silo role, the GPU flag and the device a call asks for.</summary>
public static class WorkerPlacement
{
    /// <summary>Request-context key of the device a call needs (see <see cref="Devices"/>).</summary>
    public const string DeviceKey = "mlgrid.device";

    public static bool Fits(IReadOnlyDictionary<string, string> metadata, bool needsGpu) =>
        metadata.TryGetValue(SiloRoles.RoleKey, out var role) && role == SiloRoles.Worker
        && (!needsGpu || (metadata.TryGetValue(SiloRoles.GpuKey, out var gpu) && bool.TryParse(gpu, out var hasGpu) && hasGpu));

    public static long? ReadLong(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out var value) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number
            : null;
}

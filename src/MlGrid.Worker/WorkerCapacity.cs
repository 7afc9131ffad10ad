using System.Diagnostics;
using System.Globalization;
using MlGrid.Contracts;

namespace MlGrid.Worker;

/// <summary>What this worker offers the scheduler, published as silo metadata when it joins the cluster.</summary>
public sealed record WorkerCapacity(int CpuCores, long MemoryBytes, bool HasGpu, string? GpuName, long? GpuMemoryBytes)
{
    public static WorkerCapacity Measure(bool hasGpu)
    {
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var (name, gpuMemory) = hasGpu ? QueryGpu() : (null, null);
        return new WorkerCapacity(Environment.ProcessorCount, memory, hasGpu, name, gpuMemory);
    }

    public IEnumerable<KeyValuePair<string, string>> ToMetadata()
    {
        yield return new(SiloRoles.GpuKey, HasGpu ? "true" : "false");
        yield return new(SiloRoles.CpuCoresKey, CpuCores.ToString(CultureInfo.InvariantCulture));
        yield return new(SiloRoles.MemoryBytesKey, MemoryBytes.ToString(CultureInfo.InvariantCulture));
        if (GpuName is not null)
        {
            yield return new(SiloRoles.GpuNameKey, GpuName);
        }

        if (GpuMemoryBytes is { } bytes)
        {
            yield return new(SiloRoles.GpuMemoryBytesKey, bytes.ToString(CultureInfo.InvariantCulture));
        }
    }

    public override string ToString() =>
        $"{CpuCores} CPU cores, {MemoryBytes / (1024 * 1024)} MiB memory"
        + (HasGpu ? $", GPU {GpuName ?? "(name unknown)"}{(GpuMemoryBytes is { } g ? $" with {g / (1024 * 1024)} MiB" : "")}" : ", no GPU");

    /// <summary>How long nvidia-smi may take: a hung driver can leave it waiting forever, and the worker must still start.</summary>
    private static readonly TimeSpan GpuQueryTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The first GPU's name and memory from nvidia-smi, when the driver's tool is there and answers in time; nulls otherwise.</summary>
    private static (string? Name, long? MemoryBytes) QueryGpu()
    {
        try
        {
            // Standard error is left to the worker's own: redirected and never read, it could fill its pipe and block the tool.
            using var process = Process.Start(new ProcessStartInfo("nvidia-smi", "--query-gpu=name,memory.total --format=csv,noheader,nounits")
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return (null, null);
            }

            using var timeout = new CancellationTokenSource(GpuQueryTimeout);
            string? line;
            try
            {
                // Measured once while the host is built, where no synchronization context makes blocking deadlock.
                line = process.StandardOutput.ReadLineAsync().WaitAsync(timeout.Token).GetAwaiter().GetResult();
                process.WaitForExitAsync(timeout.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (null, null);
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                return (null, null);
            }

            var parts = line.Split(',', StringSplitOptions.TrimEntries);
            long? mib = parts.Length > 1 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? m : null;
            return (parts[0], mib * 1024 * 1024);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return (null, null);
        }
    }
}

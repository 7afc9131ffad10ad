using System.Globalization;

namespace MlGrid.Bench.Datasets;

/// <summary>
/// Resident memory of one process from /proc (Linux): <c>VmRSS</c> (now) and <c>VmHWM</c> (the peak since start, or
/// since the last <see cref="TryResetPeak"/>, which writes 5 to <c>/proc/&lt;pid&gt;/clear_refs</c>). The kernel
/// keeps the peak exactly, so no spike between samples is missed.
/// </summary>
internal sealed class ProcessMemory(int pid)
{
    public int Pid => pid;

    public static bool IsAvailable => OperatingSystem.IsLinux() && File.Exists("/proc/self/status");

    /// <summary>Resident set size now, in bytes.</summary>
    public long Resident() => Read("VmRSS:");

    /// <summary>The resident set's peak, in bytes.</summary>
    public long Peak() => Read("VmHWM:");

    /// <summary>Starts a new peak from the current resident set; false where the kernel does not allow it.</summary>
    public bool TryResetPeak()
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return Peak() <= Resident() + (1024 * 1024);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private long Read(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                // "VmRSS:	  123456 kB"
                var value = line[field.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(value, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {field} line.");
    }
}

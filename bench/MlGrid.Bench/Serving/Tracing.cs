using System.Diagnostics;
using System.Globalization;

namespace MlGrid.Bench.Serving;

/// <summary>
/// Samples the stacks of the gateway and worker with dotnet-trace (thread time, about 100 Hz) during one extra
/// measurement, writes .nettrace and speedscope files and prints each process's top frames without the waiting ones
/// (<c>dotnet-trace report topN</c>). Tracing slows the processes, so the traced measurement is reported apart and
/// never judged against the targets.
/// </summary>
internal static class Tracing
{
    public const string Profile = "dotnet-sampled-thread-time";

    public static async Task<IReadOnlyList<TraceResult>> CollectAsync(
        string tool, string directory, ProcessCpu processes, IReadOnlyList<string> roles, TimeSpan duration, Func<Task> load)
    {
        Directory.CreateDirectory(directory);
        var sessions = new List<(string Role, int Pid, string File, Process Collector)>();
        foreach (var role in roles)
        {
            // The app process, not a `dotnet run` launcher: launchers are classified as orchestration.
            if (!processes.Roles.TryGetValue(role, out var pids) || pids.Count == 0)
            {
                Console.WriteLine($"Trace: no {role} process found; skipped.");
                continue;
            }

            var pid = pids[0];
            var file = Path.GetFullPath(Path.Combine(directory, $"{role}-{pid}.nettrace"));
            var seconds = (int)Math.Ceiling(duration.TotalSeconds) + 2;
            var span = TimeSpan.FromSeconds(seconds);
            var collector = Start(tool,
                ["collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "--profile", Profile, "-o", file, "--format", "Speedscope",
                 "--duration", $"{span.Days:00}:{span.Hours:00}:{span.Minutes:00}:{span.Seconds:00}"]);
            if (collector is null)
            {
                Console.WriteLine($"Trace: could not start '{tool}'; install it with `dotnet tool install --tool-path DIR dotnet-trace` and pass --trace-tool DIR/dotnet-trace.");
                return [];
            }

            sessions.Add((role, pid, file, collector));
        }

        // The warm-up of the measurement covers the tool's attach time.
        await load();
        var results = new List<TraceResult>();
        foreach (var (role, pid, file, collector) in sessions)
        {
            using (collector)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
                await collector.WaitForExitAsync(timeout.Token);
            }

            var top = File.Exists(file) ? WithoutWaits(await RunAsync(tool, ["report", file, "topN", "-n", "80"]), 30) : $"no trace written to {file}";
            Console.WriteLine($"Trace of {role} (pid {pid}), {Profile}, frames of threads that were waiting left out: {file}");
            Console.WriteLine(top);
            results.Add(new TraceResult(role, pid, file, top));
        }

        return results;
    }

    /// <summary>
    /// Thread-time samples include every thread, running or not; the frames threads wait in (thread-pool semaphores,
    /// sleeps, wait handles, the file watcher's read) say nothing about CPU, so they are dropped from the listing.
    /// The percentages stay those of all samples.
    /// </summary>
    private static string WithoutWaits(string report, int keep)
    {
        string[] waits = ["WaitForSignal", "Thread.Sleep", "WaitOne", "WaitMultiple", "Monitor.Wait", "ManualResetEventSlim.Wait",
            "LowLevelLifoSemaphore.Wait", "Interop+Sys.Read", "WorkerThread.WorkerThreadStart", "Missing Symbol"];
        var lines = report.Split('\n');
        var kept = lines.Take(1).Concat(lines.Skip(1).Where(l => !waits.Any(w => l.Contains(w, StringComparison.Ordinal))).Take(keep));
        return string.Join('\n', kept) + "\n(left out: waiting frames and 'Missing Symbol', native code without symbols, e.g. ONNX Runtime kernels and epoll waits)";
    }

    private static Process? Start(string tool, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            var process = Process.Start(info);
            if (process is not null)
            {
                // Drained so a chatty tool never blocks on a full pipe.
                process.OutputDataReceived += (_, _) => { };
                process.ErrorDataReceived += (_, _) => { };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
            }

            return process;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static async Task<string> RunAsync(string tool, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {tool}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (await stdout + await stderr).Trim();
    }
}

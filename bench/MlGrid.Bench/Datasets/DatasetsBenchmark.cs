using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlGrid.Bench.Serving;

namespace MlGrid.Bench.Datasets;

/// <summary>
/// The dataset upload benchmark: generated CSV bodies of each size streamed through the gateway of a real MlGrid
/// (started from the AppHost in this process, fresh for each size), with the control plane's resident memory (and the
/// gateway's) read from /proc before and during the upload. Memory that stays flat as the file grows tenfold means
/// the upload path streams: growth for 1 GiB over growth for 100 MiB near 1.
/// </summary>
internal static class DatasetsBenchmark
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = DatasetsOptions.Parse(args);
        if (!ProcessMemory.IsAvailable || !ProcessCpu.IsAvailable)
        {
            Console.Error.WriteLine("The datasets benchmark reads process memory from /proc: it runs on Linux only.");
            return 2;
        }

        var startedAt = DateTimeOffset.UtcNow;
        Console.WriteLine($"Datasets benchmark: CSV uploads of {string.Join(", ", options.SizesMiB.Select(s => $"{s} MiB"))} through the gateway, " +
            $"{Environment.ProcessorCount} logical processors shared by this process (generator and AppHost), the gateway, the control plane and Azurite.");
        var results = new List<UploadResult>();
        foreach (var size in options.SizesMiB)
        {
            results.Add(await MeasureAsync(size, options));
        }

        var ratio = Ratio(results, r => r.ControlPlane.GrowthBytes);
        var streamingRatio = Ratio(results, r => r.ControlPlaneGrowthWhileSendingBytes);
        Print(results, ratio, streamingRatio);

        if (options.Output is { } path)
        {
            var report = new DatasetsReport("datasets", startedAt, Environment.ProcessorCount,
                System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription, results, ratio, streamingRatio);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, JsonOptions));
            Console.WriteLine($"Results written to {path}");
        }

        return 0;
    }

    private static async Task<UploadResult> MeasureAsync(int sizeMiB, DatasetsOptions options)
    {
        Console.WriteLine($"[{sizeMiB} MiB] Starting MlGrid from the AppHost (Azurite, control plane, 1 worker, gateway) on a fresh data folder...");
        await using var system = await MlGridSystem.StartAsync(options.ServiceLogLevel, CancellationToken.None);
        var processes = ProcessCpu.Discover();
        var controlPlane = new ProcessMemory(ProcessOf(processes, "controlplane"));
        var gateway = new ProcessMemory(ProcessOf(processes, "gateway"));
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, UseCookies = false })
        {
            BaseAddress = system.Gateway,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", system.AdminKey);

        // The upload path's first use (JIT, connections, the storage container) belongs to neither measurement.
        await UploadAsync(client, "bench-warmup", new GeneratedCsvStream(MiB));
        await Task.Delay(Settle);

        var cpBaseline = controlPlane.Resident();
        var gwBaseline = gateway.Resident();
        var exact = controlPlane.TryResetPeak() & gateway.TryResetPeak();
        using var sampling = new CancellationTokenSource();
        var samples = new List<MemorySample>();
        var started = Stopwatch.GetTimestamp();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var sample = new MemorySample(Stopwatch.GetElapsedTime(started).TotalSeconds, controlPlane.Resident(), gateway.Resident());
                lock (samples)
                {
                    samples.Add(sample);
                }

                await Task.Delay(SampleEvery, CancellationToken.None);
            }
        });

        var body = new GeneratedCsvStream(sizeMiB * MiB);
        var cpuBefore = processes.Take();
        var version = await UploadAsync(client, $"bench-{sizeMiB}mib", body);
        var ended = Stopwatch.GetTimestamp();
        var cpu = ProcessCpu.Between(cpuBefore, processes.Take(), 1);
        await sampling.CancelAsync();
        await sampler;

        var rows = version.GetProperty("rows").GetInt64();
        if (rows != body.Rows)
        {
            throw new InvalidOperationException($"The {sizeMiB} MiB upload was registered with {rows} rows; {body.Rows} were sent.");
        }

        var seconds = Stopwatch.GetElapsedTime(started, ended).TotalSeconds;
        var bodySeconds = Stopwatch.GetElapsedTime(started, body.EndedAt).TotalSeconds;
        var cpSampled = samples.Max(m => m.ControlPlaneBytes);
        var gwSampled = samples.Max(m => m.GatewayBytes);
        var cpWhileSending = samples.Where(m => m.Seconds <= bodySeconds).Select(m => m.ControlPlaneBytes).DefaultIfEmpty(cpBaseline).Max();
        var cpAfterSending = samples.Where(m => m.Seconds > bodySeconds).Select(m => m.ControlPlaneBytes).DefaultIfEmpty(cpBaseline).Max();
        var result = new UploadResult(
            sizeMiB,
            body.BytesRead,
            rows,
            version.GetProperty("sha256").GetString()!,
            Math.Round(seconds, 2),
            Math.Round(bodySeconds, 2),
            Math.Round(body.BytesRead / (double)MiB / seconds, 1),
            exact ? "VmHWM after clear_refs, and VmRSS every 50 ms" : "VmRSS every 50 ms",
            Memory(controlPlane, cpBaseline, exact, cpSampled),
            Memory(gateway, gwBaseline, exact, gwSampled),
            Math.Max(0, cpWhileSending - cpBaseline),
            Math.Max(0, cpAfterSending - cpBaseline),
            cpu.Shares.Select(s => new RoleCpu(s.Role, Math.Round(s.CpuSeconds, 1), Math.Round(s.Cores, 2))).ToList(),
            Timeline(samples));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{sizeMiB} MiB] {result.Bytes:N0} bytes, {rows:N0} rows in {seconds:N1} s ({result.MiBPerSecond:N1} MiB/s; body sent after {bodySeconds:N1} s); " +
            $"control plane {Mib(result.ControlPlane.BaselineBytes)} → peak {Mib(result.ControlPlane.PeakBytes)} MiB (+{Mib(result.ControlPlane.GrowthBytes)}), " +
            $"gateway +{Mib(result.Gateway.GrowthBytes)} MiB; control plane sampled: +{Mib(result.ControlPlaneGrowthWhileSendingBytes)} MiB while the body streamed, " +
            $"+{Mib(result.ControlPlaneGrowthAfterSendingBytes)} MiB after (storing, committing)"));
        Console.WriteLine("  control-plane RSS, MiB, every second: " + string.Join(" ", result.ControlPlaneTimelineMiB.Select(v => v.ToString(CultureInfo.InvariantCulture))));
        Console.WriteLine("  CPU seconds: " + string.Join(", ", result.Cpu.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Role} {c.CpuSeconds:N1}"))));
        return result;
    }

    /// <summary>The control plane's resident set at each whole second of the upload, in MiB.</summary>
    private static List<int> Timeline(List<MemorySample> samples) =>
        [.. samples.GroupBy(m => (int)m.Seconds).OrderBy(g => g.Key).Select(g => (int)(g.Max(m => m.ControlPlaneBytes) / MiB))];

    private static MemoryFigures Memory(ProcessMemory process, long baseline, bool exact, long sampled)
    {
        var peak = exact ? Math.Max(process.Peak(), sampled) : sampled;
        return new MemoryFigures(process.Pid, baseline, peak, Math.Max(0, peak - baseline), process.Resident());
    }

    private static async Task<JsonElement> UploadAsync(HttpClient client, string name, GeneratedCsvStream body)
    {
        using var content = new StreamContent(body, 128 * 1024);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        using var response = await client.PostAsync($"/api/v1/datasets/{name}/versions", content);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK))
        {
            throw new InvalidOperationException($"Upload of {name} gave {(int)response.StatusCode}: {text}");
        }

        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The process of a role; where a launcher and the app both match, the one using the most memory.</summary>
    private static int ProcessOf(ProcessCpu processes, string role) =>
        processes.Roles.TryGetValue(role, out var pids) && pids.Count > 0
            ? pids.MaxBy(pid => new ProcessMemory(pid).Resident())
            : throw new InvalidOperationException($"No {role} process was found under this one.");

    /// <summary>The last upload's figure over the first's: 1 when memory does not grow with the file.</summary>
    private static double? Ratio(List<UploadResult> results, Func<UploadResult, long> growth) =>
        results.Count > 1 && growth(results[0]) > 0 ? (double)growth(results[^1]) / growth(results[0]) : null;

    private static void Print(List<UploadResult> results, double? ratio, double? streamingRatio)
    {
        Console.WriteLine();
        Console.WriteLine("| upload | rows | seconds | MiB/s | control plane: baseline → peak RSS | growth | while the body streamed | after (storing) | gateway growth |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.SizeMiB} MiB | {r.Rows:N0} | {r.Seconds:N1} | {r.MiBPerSecond:N1} | {Mib(r.ControlPlane.BaselineBytes)} → {Mib(r.ControlPlane.PeakBytes)} MiB | {Mib(r.ControlPlane.GrowthBytes)} MiB | " +
                $"{Mib(r.ControlPlaneGrowthWhileSendingBytes)} MiB | {Mib(r.ControlPlaneGrowthAfterSendingBytes)} MiB | {Mib(r.Gateway.GrowthBytes)} MiB |"));
        }

        if (ratio is { } value)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Control-plane memory growth, {results[^1].SizeMiB} MiB over {results[0].SizeMiB} MiB (the file is {(double)results[^1].Bytes / results[0].Bytes:N1}× larger; 1 = flat): " +
                $"{value:N2} at the peak, {streamingRatio ?? double.NaN:N2} while the body streamed (hashed, profiled, spooled)"));
        }
    }

    private static string Mib(long bytes) => (bytes / (double)MiB).ToString("N0", CultureInfo.InvariantCulture);
}

internal sealed record MemorySample(double Seconds, long ControlPlaneBytes, long GatewayBytes);

internal sealed record MemoryFigures(int Pid, long BaselineBytes, long PeakBytes, long GrowthBytes, long AfterBytes);

internal sealed record RoleCpu(string Role, double CpuSeconds, double Cores);

internal sealed record UploadResult(
    int SizeMiB,
    long Bytes,
    long Rows,
    string Sha256,
    double Seconds,
    double BodySentSeconds,
    double MiBPerSecond,
    string PeakSource,
    MemoryFigures ControlPlane,
    MemoryFigures Gateway,
    long ControlPlaneGrowthWhileSendingBytes,
    long ControlPlaneGrowthAfterSendingBytes,
    IReadOnlyList<RoleCpu> Cpu,
    IReadOnlyList<int> ControlPlaneTimelineMiB);

internal sealed record DatasetsReport(
    string Mode,
    DateTimeOffset StartedAt,
    int ProcessorCount,
    string Runtime,
    IReadOnlyList<UploadResult> Uploads,
    double? ControlPlaneGrowthRatio,
    double? ControlPlaneGrowthRatioWhileSending);

using System.Globalization;

namespace MlGrid.Bench.Serving;

/// <summary>The serving targets, judged from one run's measurements; each miss says by how much and where the CPU went.</summary>
internal static class Targets
{
    public const string Pass = "PASS";
    public const string Miss = "MISS";
    public const string NotMeasured = "N/A";

    public static IReadOnlyList<TargetResult> Judge(IReadOnlyList<Measurement> measurements, IReadOnlyList<GatewayOverhead> overheads, IReadOnlyList<CodecCost> codecs)
    {
        Measurement? Find(string id) => measurements.FirstOrDefault(m => m.Id == id);
        var results = new List<TargetResult>();

        var cnnInProcess = Find(Ids.CnnInProcess);
        foreach (var (id, encoding, goal) in new[] { (Ids.CnnGatewayJson, "JSON", 0.70), (Ids.CnnGatewayBinary, "binary", 0.90) })
        {
            var served = Find(id);
            var description = $"CNN served ({encoding}) / in-process throughput, concurrency 4";
            if (served is not { Measured: true } || cnnInProcess is not { Measured: true } || cnnInProcess.RequestsPerSecond <= 0)
            {
                results.Add(NotTaken($"cnn-{encoding.ToLowerInvariant()}-ratio", description, $">= {goal:0.00}", served?.Skipped ?? cnnInProcess?.Skipped));
                continue;
            }

            var ratio = served.RequestsPerSecond / cnnInProcess.RequestsPerSecond;
            results.Add(AtLeast($"cnn-{encoding.ToLowerInvariant()}-ratio", description, ratio, goal, "x", "0.00",
                CnnWhere(served, cnnInProcess, encoding == "JSON" ? codecs.FirstOrDefault(c => c.Model == served.Model) : null)));
        }

        var tiny = Find(Ids.TinyGatewayJson64);
        if (tiny is { Measured: true })
        {
            results.Add(AtLeast("tiny-gateway-throughput", "Tiny model through the gateway, JSON, concurrency 64", tiny.RequestsPerSecond, 5000, "req/s", "N0",
                CeilingWhere(tiny)));
            results.Add(Below("tiny-gateway-p99", "Tiny model through the gateway, JSON, concurrency 64, p99 latency", tiny.Latency.P99Ms, 20, "ms", "0.00",
                CeilingWhere(tiny)));
        }
        else
        {
            results.Add(NotTaken("tiny-gateway-throughput", "Tiny model through the gateway, JSON, concurrency 64", ">= 5,000 req/s", tiny?.Skipped));
            results.Add(NotTaken("tiny-gateway-p99", "Tiny model through the gateway, JSON, concurrency 64, p99 latency", "< 20 ms", tiny?.Skipped));
        }

        if (overheads.FirstOrDefault(o => o.Concurrency == 1) is { } single)
        {
            var cpu = overheads.FirstOrDefault(o => o.Concurrency > 1)?.GatewayCpuUsPerRequest;
            var where = cpu is > 0 ? $"gateway process CPU {cpu:N0} µs per request at concurrency 64" : null;
            results.Add(Below("gateway-overhead-mean", "Gateway overhead per request, concurrency 1 (mean gateway - mean direct)", single.MeanUs, 300, "µs", "N0", where));
            results.Add(Below("gateway-overhead-p50", "Gateway overhead per request, concurrency 1 (median gateway - median direct)", single.P50Us, 300, "µs", "N0", where));
        }
        else
        {
            results.Add(NotTaken("gateway-overhead-mean", "Gateway overhead per request, concurrency 1 (mean)", "< 300 µs", "tiny model not measured"));
            results.Add(NotTaken("gateway-overhead-p50", "Gateway overhead per request, concurrency 1 (median)", "< 300 µs", "tiny model not measured"));
        }

        return results;
    }

    /// <summary>CPU per request of each process for a served CNN measurement against the engine alone.</summary>
    private static string? CnnWhere(Measurement served, Measurement inProcess, CodecCost? codec)
    {
        if (served.Cpu is null || inProcess.Cpu is null)
        {
            return null;
        }

        var engine = inProcess.Cpu.Shares.First(s => s.Role == ProcessCpu.LoadGenerator).MicrosecondsPerRequest;
        var worker = served.Cpu.Shares.FirstOrDefault(s => s.Role == "worker")?.MicrosecondsPerRequest ?? 0;
        var where = string.Create(CultureInfo.InvariantCulture,
            $"CPU ms per request: {Split(served.Cpu, 1000, "ms")}; the engine alone (in process, concurrency 4) used {engine / 1000:N1} ms per request");
        if (codec is not null)
        {
            var rest = worker - engine - codec.ParseMicroseconds - codec.SerializeMicroseconds;
            where += string.Create(CultureInfo.InvariantCulture,
                $"; worker {worker / 1000:N1} ms = engine {engine / 1000:N1} + JSON parse and validate {codec.ParseMicroseconds / 1000:N1} + serialize {codec.SerializeMicroseconds / 1000:N1} + the rest (HTTP, copies, contention) {rest / 1000:N1}");
        }

        return where;
    }

    /// <summary>The CPU each request costs across the processes, and the throughput the machine's cores allow at that cost.</summary>
    private static string? CeilingWhere(Measurement measurement)
    {
        if (measurement.Cpu is null)
        {
            return null;
        }

        var ours = measurement.Cpu.Shares.Where(s => s.Role != ProcessCpu.Other).Sum(s => s.MicrosecondsPerRequest);
        var ceiling = ours > 0 ? Environment.ProcessorCount * 1e6 / ours : 0;
        return $"CPU µs per request: {Split(measurement.Cpu, 1, "µs")}; {ours:N0} µs of benchmark CPU per request caps {Environment.ProcessorCount} cores at {ceiling:N0} req/s";
    }

    private static string Split(CpuSplit split, double divisor, string unit) => string.Join(", ", split.Shares
        .Where(s => s.MicrosecondsPerRequest / divisor >= 0.05)
        .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Role} {s.MicrosecondsPerRequest / divisor:N1} {unit}")));

    private static TargetResult AtLeast(string id, string description, double value, double goal, string unit, string format, string? where)
    {
        var margin = (value - goal) / goal * 100;
        return new TargetResult(id, description, $">= {goal.ToString(format, CultureInfo.InvariantCulture)} {unit}", value, unit,
            value >= goal ? Pass : Miss, margin, MarginText(value - goal, margin, unit, format), where);
    }

    private static TargetResult Below(string id, string description, double value, double goal, string unit, string format, string? where)
    {
        var margin = (goal - value) / goal * 100;
        return new TargetResult(id, description, $"< {goal.ToString(format, CultureInfo.InvariantCulture)} {unit}", value, unit,
            value < goal ? Pass : Miss, margin, MarginText(goal - value, margin, unit, format), where);
    }

    private static TargetResult NotTaken(string id, string description, string goal, string? reason) =>
        new(id, description, goal, null, "", NotMeasured, null, "not measured: " + (reason ?? "measurement skipped"), null);

    /// <summary>Positive: headroom; negative: how far short.</summary>
    private static string MarginText(double difference, double percent, string unit, string format) => string.Create(CultureInfo.InvariantCulture,
        $"{(difference >= 0 ? "+" : "-")}{Math.Abs(difference).ToString(format, CultureInfo.InvariantCulture)} {unit} ({(percent >= 0 ? "+" : "-")}{Math.Abs(percent):0.0}%)");
}

/// <summary>Measurement ids, shared by the run, the targets and the JSON.</summary>
internal static class Ids
{
    public const string CnnInProcess = "cnn-inprocess-c4";
    public const string TinyInProcess = "tiny-inprocess-c64";
    public const string CnnGatewayJson = "cnn-gateway-json-c4";
    public const string CnnGatewayBinary = "cnn-gateway-binary-c4";
    public const string TinyGatewayJson1 = "tiny-gateway-json-c1";
    public const string TinyDirectJson1 = "tiny-direct-json-c1";
    public const string TinyGatewayJson64 = "tiny-gateway-json-c64";
    public const string TinyDirectJson64 = "tiny-direct-json-c64";
    public const string TinyGatewayBinary64 = "tiny-gateway-binary-c64";
}

namespace MlGrid.Bench.Serving;

/// <summary>Which path a measurement took to the model.</summary>
internal static class Paths
{
    /// <summary><c>OnnxModel.Run</c> in this process: no HTTP, no JSON.</summary>
    public const string InProcess = "in-process";

    /// <summary>Through the gateway: <c>/v2/models/{endpoint}/infer</c>.</summary>
    public const string Gateway = "gateway";

    /// <summary>Straight to the replica's URL on its worker, bypassing the gateway.</summary>
    public const string Direct = "direct";
}

/// <summary>One closed-loop measurement, or the reason it was not taken.</summary>
internal sealed record Measurement(
    string Id,
    string Model,
    string Path,
    string Encoding,
    int Concurrency,
    double WindowSeconds,
    long Requests,
    long Errors,
    long WarmupErrors,
    string? FirstError,
    double RequestsPerSecond,
    LatencySummary Latency,
    CpuSplit? Cpu,
    string? Skipped = null)
{
    public bool Measured => Skipped is null;

    public static Measurement NotTaken(string id, string model, string path, string encoding, int concurrency, string reason) =>
        new(id, model, path, encoding, concurrency, 0, 0, 0, 0, null, 0, LatencySummary.Empty, null, reason);
}

/// <summary>A check made before measuring: the served answers are the model's answers.</summary>
internal sealed record CheckResult(string Name, bool Ok, double? MaxAbsDiff, string Detail);

/// <summary>Whether the gateway accepted binary tensors, and why not.</summary>
internal sealed record BinarySupport(bool Supported, string Detail);

/// <summary>Gateway minus direct latency for the tiny model at one concurrency, in microseconds.</summary>
internal sealed record GatewayOverhead(int Concurrency, double MeanUs, double P50Us, double P99Us, double GatewayCpuUsPerRequest);

/// <summary>One target of the serving benchmark, judged on this run.</summary>
internal sealed record TargetResult(
    string Id,
    string Description,
    string Goal,
    double? Value,
    string Unit,
    string Status,
    double? MarginPercent,
    string Margin,
    string? WhereTimeGoes);

internal sealed record MachineInfo(int ProcessorCount, string Os, string Runtime, string Note);

/// <summary>What <c>serving --out</c> writes.</summary>
internal sealed record ServingReport(
    string Mode,
    DateTimeOffset StartedAt,
    MachineInfo Machine,
    ServingSettings Settings,
    IReadOnlyList<CheckResult> Checks,
    BinarySupport? Binary,
    CpuSplit? IdleCpu,
    IReadOnlyList<CodecCost> Codec,
    IReadOnlyList<Measurement> Measurements,
    IReadOnlyList<GatewayOverhead> GatewayOverhead,
    IReadOnlyList<TargetResult> Targets,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<TraceResult> Traces);

internal sealed record ServingSettings(double WindowSeconds, double CnnWindowSeconds, double WarmupSeconds, int Workers, string Device, string ServiceLogLevel);

/// <summary>A sampled-stack trace of one process during an extra, traced measurement, with its top frames.</summary>
internal sealed record TraceResult(string Role, int Pid, string File, string TopFrames);

using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlGrid.Inference;
using MlGrid.Testing;

namespace MlGrid.Bench.Serving;

/// <summary>
/// The serving benchmark: the engine in process, then the same models served by the real system (started from the
/// AppHost in this process) through the gateway and straight to the worker, all in one run on one machine, so the
/// ratios compare like with like.
/// </summary>
internal sealed class ServingBenchmark
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A file for people and tools, not HTML: µ and quotes stay readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(3);

    /// <summary>CPU used by processes outside the benchmark above which a window counts as disturbed.</summary>
    private const double BusyMachineCores = 0.2;

    private readonly ServingOptions _options;
    private readonly List<Measurement> _measurements = [];
    private readonly List<CheckResult> _checks = [];
    private readonly List<CodecCost> _codecs = [];
    private readonly Dictionary<string, float[]> _references = [];
    private readonly Dictionary<string, Uri> _replicas = [];
    private ProcessCpu? _cpu;

    private ServingBenchmark(ServingOptions options) => _options = options;

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = ServingOptions.Parse(args);
        return await new ServingBenchmark(options).RunAsync();
    }

    private async Task<int> RunAsync()
    {
        var startedAt = DateTimeOffset.UtcNow;
        var models = BenchModels().Where(m => m.Key == BenchModel.Cnn ? _options.Cnn : _options.Tiny).ToList();
        // Loops of in-process runs block their thread; they must not wait for the thread pool to grow.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 2 * models.Max(m => m.Concurrency) + 16), io);

        var machine = new MachineInfo(Environment.ProcessorCount, System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            $"The load generator runs in this process and shares the machine's {Environment.ProcessorCount} logical processors with the gateway and the worker (and anything else running here).");
        Console.WriteLine($"Serving benchmark: {Environment.ProcessorCount} logical processors; {machine.Note}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Windows of {_options.Window.TotalSeconds:0.#} s ({_options.CnnWindow.TotalSeconds:0.#} s for the CNN) after {_options.Warmup.TotalSeconds:0.#} s of warm-up."));

        // 1. The engine alone, before anything else runs here.
        foreach (var model in models)
        {
            await MeasureInProcessAsync(model);
        }

        BinarySupport? binary = null;
        CpuSplit? idle = null;
        var overheads = new List<GatewayOverhead>();
        var traces = new List<TraceResult>();

        // 2. The same models served by the real system.
        Console.WriteLine("Starting MlGrid from the AppHost (Azurite, control plane, 1 worker, gateway)"
            + (_options.ServiceLogLevel is { } level ? $", services logging at {level} and above..." : "..."));
        var system = await MlGridSystem.StartAsync(_options.ServiceLogLevel, CancellationToken.None);
        try
        {
            Console.WriteLine($"Gateway at {system.Gateway}");
            using var client = new InferenceClient(system.AdminKey, models.Max(m => m.Concurrency));
            foreach (var model in models)
            {
                var version = await system.UploadModelAsync(model.Endpoint, model.Onnx, CancellationToken.None);
                _replicas[model.Key] = await system.DeployAsync(model.Endpoint, model.Endpoint, version, CancellationToken.None);
                Console.WriteLine($"{model.Endpoint}: version {version} ready, replica at {_replicas[model.Key]}");
            }

            if (ProcessCpu.IsAvailable)
            {
                _cpu = ProcessCpu.Discover();
                Console.WriteLine("Processes started by the AppHost: " + string.Join("; ", _cpu.Roles.OrderBy(r => r.Key)
                    .Select(r => $"{r.Key} {string.Join(",", r.Value)}")));
            }

            binary = await CheckAsync(client, system, models);

            if (models.FirstOrDefault(m => m.Key == BenchModel.Tiny) is { } tiny)
            {
                await MeasureServedAsync(client, system, tiny, Ids.TinyGatewayJson1, Paths.Gateway, TensorEncoding.Json, 1, binary);
                await MeasureServedAsync(client, system, tiny, Ids.TinyDirectJson1, Paths.Direct, TensorEncoding.Json, 1, binary);
                await MeasureServedAsync(client, system, tiny, Ids.TinyGatewayJson64, Paths.Gateway, TensorEncoding.Json, 64, binary);
                await MeasureServedAsync(client, system, tiny, Ids.TinyDirectJson64, Paths.Direct, TensorEncoding.Json, 64, binary);
                await MeasureServedAsync(client, system, tiny, Ids.TinyGatewayBinary64, Paths.Gateway, TensorEncoding.Binary, 64, binary);
                overheads.AddRange(Overheads());
            }

            if (models.FirstOrDefault(m => m.Key == BenchModel.Cnn) is { } cnn)
            {
                await MeasureServedAsync(client, system, cnn, Ids.CnnGatewayJson, Paths.Gateway, TensorEncoding.Json, 4, binary);
                await MeasureServedAsync(client, system, cnn, Ids.CnnGatewayBinary, Paths.Gateway, TensorEncoding.Binary, 4, binary);
            }

            if (_cpu is not null)
            {
                // What the processes burn with no load, once the last one has settled: background work that every
                // per-request figure above includes.
                await Task.Delay(TimeSpan.FromSeconds(1));
                var before = _cpu.Take();
                await Task.Delay(IdleWindow);
                idle = ProcessCpu.Between(before, _cpu.Take(), 0);
                Console.WriteLine("Idle CPU, cores: " + string.Join(", ", idle.Shares.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Role} {s.Cores:N2}"))));
            }

            if (_options.TraceDirectory is { } directory && _cpu is not null && models.FirstOrDefault(m => m.Key == BenchModel.Tiny) is { } traced)
            {
                traces.AddRange(await TraceAsync(client, system, traced, directory));
            }
        }
        finally
        {
            Console.WriteLine("Stopping MlGrid...");
            await system.DisposeAsync();
        }

        // 3. Targets, tables, JSON.
        var targets = Targets.Judge(_measurements, overheads, _codecs);
        var warnings = _measurements
            .Where(m => m.Cpu?.Shares.FirstOrDefault(s => s.Role == ProcessCpu.Other) is { Cores: > BusyMachineCores })
            .Select(m => string.Create(CultureInfo.InvariantCulture,
                $"{m.Id}: other processes on this machine used {m.Cpu!.Shares.First(s => s.Role == ProcessCpu.Other).Cores:N2} cores during the window; its figures, and ratios built on them, are not reliable"))
            .ToList();
        ReportTables.Print(Console.Out, machine, _checks, binary, idle, _codecs, _measurements, overheads, targets, warnings);
        var report = new ServingReport("serving", startedAt, machine,
            new ServingSettings(_options.Window.TotalSeconds, _options.CnnWindow.TotalSeconds, _options.Warmup.TotalSeconds, 1, "cpu",
                _options.ServiceLogLevel ?? "as the AppHost configures it"),
            _checks, binary, idle, _codecs, _measurements, overheads, targets, warnings, traces);
        if (_options.Output is { } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, JsonOptions));
            Console.WriteLine($"Results written to {path}");
        }

        return 0;
    }

    private async Task MeasureInProcessAsync(BenchModel model)
    {
        using var onnx = OnnxModel.Load(model.Onnx, DevicePreference.Cpu);
        var tensor = new InferenceTensor(model.InputName, Datatypes.Fp32, model.Shape, model.Input);
        var outputs = onnx.Run([tensor]);
        _references[model.Key] = (float[])outputs.Single(o => o.Name == model.OutputName).Data;
        var id = model.Key == BenchModel.Cnn ? Ids.CnnInProcess : Ids.TinyInProcess;
        Console.WriteLine($"{id}: {model.Endpoint} on {onnx.ExecutionProvider}");
        await MeasureAsync(id, model, Paths.InProcess, "tensor", model.Concurrency, model.Window, _ =>
            _ =>
            {
                onnx.Run([tensor]);
                return ValueTask.FromResult(CallOutcome.Success);
            });

        var codec = CodecCost.Measure(model.Endpoint, onnx, Body(model, TensorEncoding.Json), outputs);
        _codecs.Add(codec);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{model.Endpoint}: worker JSON codec alone, one thread: parse + validate {codec.ParseMicroseconds:N0} µs ({codec.RequestBytes:N0} bytes), serialize {codec.SerializeMicroseconds:N0} µs ({codec.ResponseBytes:N0} bytes)"));
    }

    private async Task MeasureServedAsync(
        InferenceClient client, MlGridSystem system, BenchModel model, string id, string path, TensorEncoding encoding, int concurrency, BinarySupport? binary)
    {
        var encodingName = encoding == TensorEncoding.Json ? "json" : "binary";
        if (encoding == TensorEncoding.Binary && binary is not { Supported: true })
        {
            var reason = binary is null ? "binary tensors not checked" : "the server does not accept binary tensors";
            _measurements.Add(Measurement.NotTaken(id, model.Endpoint, path, encodingName, concurrency, reason));
            Console.WriteLine($"{id}: skipped ({reason})");
            return;
        }

        var uri = InferUri(system, model, path);
        var body = Body(model, encoding);
        await MeasureAsync(id, model, path, encodingName, concurrency, model.Window, _ => client.CreateLoop(uri, body));
    }

    private async Task<Measurement> MeasureAsync(
        string id, BenchModel model, string path, string encoding, int concurrency, TimeSpan window,
        Func<int, Func<CancellationToken, ValueTask<CallOutcome>>> createLoop)
    {
        var cpu = _cpu ?? (ProcessCpu.IsAvailable && path == Paths.InProcess ? ProcessCpu.Discover() : null);
        var sampling = cpu is null ? null : SampleCpuAsync(cpu, _options.Warmup, window);
        var result = await ClosedLoop.RunAsync(concurrency, _options.Warmup, window, createLoop);
        CpuSplit? split = null;
        if (sampling is not null)
        {
            var (before, after) = await sampling;
            split = ProcessCpu.Between(before, after, result.Requests);
        }

        var measurement = new Measurement(id, model.Endpoint, path, encoding, concurrency, result.WindowSeconds, result.Requests, result.Errors,
            result.WarmupErrors, result.FirstError, result.RequestsPerSecond, result.Latency, split);
        _measurements.Add(measurement);
        var firstError = measurement.FirstError is { } error ? $" (first: {error})" : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{id}: {measurement.RequestsPerSecond:N1} req/s, p50 {measurement.Latency.P50Ms:N3} ms, p99 {measurement.Latency.P99Ms:N3} ms, {measurement.Requests} ok, {measurement.Errors} errors{firstError}"));
        return measurement;
    }

    /// <summary>CPU snapshots at the start and end of the window; the loops start at the same moment as this.</summary>
    private static async Task<(ProcessCpu.Snapshot Before, ProcessCpu.Snapshot After)> SampleCpuAsync(ProcessCpu cpu, TimeSpan warmup, TimeSpan window)
    {
        await Task.Delay(warmup);
        var before = cpu.Take();
        await Task.Delay(window);
        return (before, cpu.Take());
    }

    /// <summary>
    /// Before measuring: JSON answers through the gateway and from the worker equal the engine's in this process, and
    /// binary answers (when the server takes binary tensors) equal the JSON ones. A difference ends the run.
    /// </summary>
    private async Task<BinarySupport?> CheckAsync(InferenceClient client, MlGridSystem system, IReadOnlyList<BenchModel> models)
    {
        BinarySupport? binary = null;
        foreach (var model in models)
        {
            var reference = _references[model.Key];
            var json = Body(model, TensorEncoding.Json);
            var viaGateway = await DecodeAsync(client, InferUri(system, model, Paths.Gateway), json, model)
                ?? throw new InvalidOperationException($"{model.Endpoint}: the gateway did not answer a JSON request with 200.");
            Compare($"{model.Endpoint}: JSON via gateway = in-process", viaGateway, reference);
            var direct = await DecodeAsync(client, InferUri(system, model, Paths.Direct), json, model)
                ?? throw new InvalidOperationException($"{model.Endpoint}: the worker did not answer a JSON request with 200.");
            Compare($"{model.Endpoint}: JSON direct to worker = in-process", direct, reference);

            var (status, body, headerLength) = await client.SendAsync(InferUri(system, model, Paths.Gateway), Body(model, TensorEncoding.Binary), CancellationToken.None);
            string? unsupported = null;
            if (status != HttpStatusCode.OK)
            {
                unsupported = $"{model.Endpoint}: {(int)status} {Truncate(System.Text.Encoding.UTF8.GetString(body))}";
            }
            else if (headerLength is null)
            {
                unsupported = $"{model.Endpoint}: 200 but the response has no {OipBodies.HeaderLengthHeader} header (outputs not returned as binary)";
            }
            else
            {
                Compare($"{model.Endpoint}: binary via gateway = JSON via gateway", OipBodies.DecodeOutput(body, headerLength, model.OutputName), viaGateway);
                binary ??= new BinarySupport(true, "binary requests and responses decoded and equal to JSON");
            }

            if (unsupported is not null)
            {
                _checks.Add(new CheckResult($"{model.Endpoint}: binary tensors via gateway", false, null, unsupported));
                Console.WriteLine($"Binary tensors: NOT SUPPORTED by this server; binary measurements are skipped. {unsupported}");
                binary = binary is { Supported: false } ? binary : new BinarySupport(false, unsupported);
            }
        }

        return binary;
    }

    private static async Task<float[]?> DecodeAsync(InferenceClient client, Uri uri, InferBody body, BenchModel model)
    {
        var (status, bytes, headerLength) = await client.SendAsync(uri, body, CancellationToken.None);
        return status == HttpStatusCode.OK ? OipBodies.DecodeOutput(bytes, headerLength, model.OutputName) : null;
    }

    private void Compare(string name, float[] actual, float[] expected)
    {
        var scale = Math.Max(1f, expected.Max(Math.Abs));
        var maxDiff = actual.Length == expected.Length ? actual.Zip(expected).Max(p => Math.Abs(p.First - p.Second)) : double.PositiveInfinity;
        var ok = maxDiff <= 1e-4 * scale;
        var detail = actual.Length != expected.Length
            ? $"{actual.Length} values, expected {expected.Length}"
            : string.Create(CultureInfo.InvariantCulture, $"{actual.Length} values, max |diff| {maxDiff:G3} (tolerance {1e-4 * scale:G3})");
        _checks.Add(new CheckResult(name, ok, double.IsFinite(maxDiff) ? maxDiff : null, detail));
        Console.WriteLine($"Check {(ok ? "ok" : "FAILED")}: {name}: {detail}");
        if (!ok)
        {
            throw new InvalidOperationException($"Check failed, the served answers differ: {name}: {detail}");
        }
    }

    private IEnumerable<GatewayOverhead> Overheads()
    {
        foreach (var (gatewayId, directId, concurrency) in new[] { (Ids.TinyGatewayJson1, Ids.TinyDirectJson1, 1), (Ids.TinyGatewayJson64, Ids.TinyDirectJson64, 64) })
        {
            var gateway = _measurements.FirstOrDefault(m => m.Id == gatewayId);
            var direct = _measurements.FirstOrDefault(m => m.Id == directId);
            if (gateway is not { Measured: true, Requests: > 0 } || direct is not { Measured: true, Requests: > 0 })
            {
                continue;
            }

            var gatewayCpu = gateway.Cpu?.Shares.FirstOrDefault(s => s.Role == "gateway")?.MicrosecondsPerRequest ?? 0;
            yield return new GatewayOverhead(concurrency,
                (gateway.Latency.MeanMs - direct.Latency.MeanMs) * 1000,
                (gateway.Latency.P50Ms - direct.Latency.P50Ms) * 1000,
                (gateway.Latency.P99Ms - direct.Latency.P99Ms) * 1000,
                gatewayCpu);
        }
    }

    /// <summary>An extra tiny-model run through the gateway with the gateway and worker under dotnet-trace; not used for the targets.</summary>
    private async Task<IReadOnlyList<TraceResult>> TraceAsync(InferenceClient client, MlGridSystem system, BenchModel model, string directory)
    {
        var uri = InferUri(system, model, Paths.Gateway);
        var body = Body(model, TensorEncoding.Json);
        return await Tracing.CollectAsync(_options.TraceTool, directory, _cpu!, ["gateway", "worker"], _options.Warmup + model.Window,
            () => MeasureAsync(Ids.TinyGatewayJson64 + "-traced", model, Paths.Gateway, "json", 64, model.Window, _ => client.CreateLoop(uri, body)));
    }

    private Uri InferUri(MlGridSystem system, BenchModel model, string path) => path == Paths.Gateway
        ? new Uri(system.Gateway, $"/v2/models/{model.Endpoint}/infer")
        : new Uri(_replicas[model.Key], $"v2/models/{model.Endpoint}/infer");

    private static InferBody Body(BenchModel model, TensorEncoding encoding) => encoding == TensorEncoding.Json
        ? OipBodies.Json("bench", model.InputName, model.Shape, model.Input)
        : OipBodies.Binary("bench", model.InputName, model.Shape, model.Input, model.OutputName);

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";

    private IEnumerable<BenchModel> BenchModels()
    {
        if (_options.Cnn)
        {
            yield return new BenchModel(BenchModel.Cnn, "bench-resnet50", ResNetModel.Build(), "images", "logits", [1, 3, 224, 224], 4, _options.CnnWindow);
        }

        if (_options.Tiny)
        {
            yield return new BenchModel(BenchModel.Tiny, "bench-tabular", TestModels.Linear(), "input", "output", [1, 3], 64, _options.Window);
        }
    }
}

/// <summary>A model of the benchmark: its ONNX bytes, signature names, one batch-1 input, and the load's concurrency.</summary>
internal sealed record BenchModel(string Key, string Endpoint, byte[] Onnx, string InputName, string OutputName, long[] Shape, int Concurrency, TimeSpan Window)
{
    public const string Cnn = "cnn";
    public const string Tiny = "tiny";

    public float[] Input { get; } = RandomData(Shape);

    private static float[] RandomData(long[] shape)
    {
        var random = new Random(7);
        var data = new float[shape.Aggregate(1L, (a, d) => a * d)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)random.NextDouble();
        }

        return data;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MlGrid.Bench.Datasets;
using MlGrid.Bench.Serving;
using MlGrid.Bench.Tracking;
using MlGrid.Inference;
using MlGrid.Testing;

// `serving`: the engine in process against the same models served by the real system (gateway and worker).
if (args is ["serving", .. var servingArgs])
{
    return await ServingBenchmark.RunAsync(servingArgs);
}

// `tracking`: 100,000 metric points logged to one run through the MLflow API and read back.
if (args is ["tracking", .. var trackingArgs])
{
    return await TrackingBenchmark.RunAsync(trackingArgs);
}

// `datasets`: CSV uploads of 100 MiB and 1 GiB through the gateway, with the control plane's memory measured.
if (args is ["datasets", .. var datasetArgs])
{
    return await DatasetsBenchmark.RunAsync(datasetArgs);
}

// Otherwise: the inference engine the workers use (MlGrid.Inference.OnnxModel) on every execution provider this
// machine has, for a ResNet-50 and a tiny tabular model, at several batch sizes. Ratios come from one run.
var options = BenchOptions.Parse(args);
var results = new List<BenchResult>();
var models = new (string Name, byte[] Bytes, Func<int, InferenceTensor> Input)[]
{
    ("resnet50", ResNetModel.Build(), batch => RandomTensor("images", [batch, 3, 224, 224])),
    ("tabular", TestModels.Linear(), batch => RandomTensor("input", [batch, 3])),
};

Console.WriteLine($"CUDA probe: {OnnxModel.ProbeCuda()}");
foreach (var (name, bytes, input) in models)
{
    var reference = default(float[]);
    foreach (var device in options.Devices)
    {
        OnnxModel model;
        try
        {
            model = OnnxModel.Load(bytes, device);
        }
        catch (ModelLoadException ex)
        {
            Console.WriteLine($"{name} on {device}: unavailable ({ex.Message})");
            continue;
        }

        using (model)
        {
            Console.WriteLine($"{name} on {device}: execution provider {model.ExecutionProvider}");
            // The same input on every provider, so outputs can be compared.
            var check = input(8);
            var output = (float[])model.Run([check])[0].Data;
            var maxDiff = reference is null ? 0 : output.Zip(reference).Max(p => Math.Abs(p.First - p.Second));
            reference ??= output;

            foreach (var batch in options.Batches)
            {
                var tensor = input(batch);
                for (var i = 0; i < 3; i++)
                {
                    model.Run([tensor]);
                }

                var runs = 0;
                var watch = Stopwatch.StartNew();
                while (watch.Elapsed < options.Duration || runs < 5)
                {
                    model.Run([tensor]);
                    runs++;
                }

                watch.Stop();
                var result = new BenchResult(name, model.ExecutionProvider, batch, runs,
                    runs * batch / watch.Elapsed.TotalSeconds, watch.Elapsed.TotalMilliseconds / runs, maxDiff);
                results.Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  batch {batch,3}: {result.ItemsPerSecond,10:F1} items/s, {result.MillisecondsPerRun,8:F2} ms/run ({runs} runs), max |diff| vs first provider {maxDiff:G3}"));
            }
        }
    }
}

if (options.Output is { } path)
{
    File.WriteAllText(path, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
}

return 0;

static InferenceTensor RandomTensor(string name, long[] shape)
{
    var random = new Random(7);
    var data = new float[shape.Aggregate(1L, (a, d) => a * d)];
    for (var i = 0; i < data.Length; i++)
    {
        data[i] = (float)random.NextDouble();
    }

    return new InferenceTensor(name, Datatypes.Fp32, shape, data);
}

internal sealed record BenchResult(string Model, string Provider, int Batch, int Runs, double ItemsPerSecond, double MillisecondsPerRun, double MaxDiffVsFirstProvider);

internal sealed record BenchOptions(DevicePreference[] Devices, int[] Batches, TimeSpan Duration, string? Output)
{
    public static BenchOptions Parse(string[] args)
    {
        var devices = new[] { DevicePreference.Cpu, DevicePreference.Gpu };
        int[] batches = [1, 8, 32];
        var duration = TimeSpan.FromSeconds(3);
        string? output = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--devices":
                    devices = args[i + 1].Split(',').Select(d => Enum.Parse<DevicePreference>(d, ignoreCase: true)).ToArray();
                    break;
                case "--batches":
                    batches = args[i + 1].Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
                    break;
                case "--seconds":
                    duration = TimeSpan.FromSeconds(double.Parse(args[i + 1], CultureInfo.InvariantCulture));
                    break;
                case "--out":
                    output = args[i + 1];
                    break;
                default:
                    throw new ArgumentException($"Unknown option {args[i]}; use --devices cpu,gpu --batches 1,8,32 --seconds 3 --out results.json, or {ServingOptions.Usage}, or {DatasetsOptions.Usage}");
            }
        }

        return new BenchOptions(devices, batches, duration, output);
    }
}

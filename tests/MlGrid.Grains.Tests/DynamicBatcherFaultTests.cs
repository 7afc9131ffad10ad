using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using MlGrid.Inference;
using MlGrid.Testing;
using MlGrid.Worker.Grains;

namespace MlGrid.Grains.Tests;

/// <summary>The dynamic batcher when a batch goes wrong: outputs it cannot split, errors it does not expect.</summary>
public sealed class DynamicBatcherFaultTests : IDisposable
{
    private const string InjectedFailure = "Injected failure while recording queue time.";

    private readonly ScopedMeterFactory _meters = new();
    private readonly RecordingLogger _logger = new();
    private readonly List<OnnxModel> _models = [];

    public void Dispose()
    {
        _meters.Dispose();
        foreach (var model in _models)
        {
            model.Dispose();
        }
    }

    [Fact]
    public async Task Outputs_that_cannot_be_split_turn_batching_off_for_the_replica()
    {
        // y = the rows of x[N,3] whose largest value is positive: the first dimension is dynamic, so batching starts
        // on, but a batched output's rows cannot be told apart by request.
        var loaded = Load(new OnnxModelBuilder("positive_rows")
            .Input("x", OnnxType.Float, null, 3)
            .Output("y", OnnxType.Float, [OnnxDim.Dynamic("M"), 3])
            .FloatInitializer("zero", [], [0f])
            .Node("ReduceMax", ["x"], ["row_max"], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0))
            .Node("Greater", ["row_max", "zero"], ["keep"])
            .Node("Compress", ["x", "keep"], ["y"], OnnxAttribute.Int("axis", 0))
            .Build());
        var batcher = Batcher(loaded, maxBatchSize: 32, maxDelayMs: 200);
        Assert.True(batcher.IsEnabled);

        // Queued at once, so they share one batch; each then runs alone.
        var first = Enumerable.Range(0, 4).Select(i => MixedSignRows(seed: i)).ToArray();
        var firstResults = await Task.WhenAll(first.Select(r => RunAsync(batcher, loaded, r)));

        Assert.False(batcher.IsEnabled);
        Assert.Contains("output 'y'", batcher.DisabledReason, StringComparison.Ordinal);
        Assert.Contains("shape [4,3] for 8 rows", batcher.DisabledReason, StringComparison.Ordinal);
        Assert.Equal(1 + first.Length, batcher.Runs);

        // Later requests no longer try a batch first.
        var later = Enumerable.Range(10, 4).Select(i => MixedSignRows(seed: i)).ToArray();
        var laterResults = await Task.WhenAll(later.Select(r => RunAsync(batcher, loaded, r)));

        Assert.Equal(1 + first.Length + later.Length, batcher.Runs);
        InferenceTensor[][] requests = [.. first, .. later];
        IReadOnlyList<InferenceTensor>[] results = [.. firstResults, .. laterResults];
        for (var i = 0; i < requests.Length; i++)
        {
            AssertSameBits(loaded.Model.Run(requests[i]), results[i]);
        }

        var warning = Assert.Single(_logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains(batcher.DisabledReason!, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unexpected_error_fails_its_batch_and_the_next_batch_still_runs_batched()
    {
        var loaded = Load(TestModels.Linear());
        var batcher = Batcher(loaded, maxBatchSize: 32, maxDelayMs: 200);
        using var failOnce = new FailingListener(_meters, BatchingMetrics.QueueTimeInstrument);

        var failed = Enumerable.Range(0, 3).Select(i => RunAsync(batcher, loaded, LinearInput(rows: 1, seed: i))).ToArray();
        foreach (var run in failed)
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => run);
            Assert.Equal(InjectedFailure, error.Message);
        }

        var requests = Enumerable.Range(0, 4).Select(i => LinearInput(rows: 1 + i, seed: 10 + i)).ToArray();
        var results = await Task.WhenAll(requests.Select(r => RunAsync(batcher, loaded, r)));

        for (var i = 0; i < requests.Length; i++)
        {
            AssertSameBits(loaded.Model.Run(requests[i]), results[i]);
        }

        Assert.True(batcher.IsEnabled);
        Assert.Equal(1, batcher.Runs);
    }

    private LoadedModel Load(byte[] model)
    {
        var onnx = OnnxModel.Load(model, DevicePreference.Cpu);
        _models.Add(onnx);
        return new LoadedModel(onnx);
    }

    private DynamicBatcher Batcher(LoadedModel loaded, int maxBatchSize, int maxDelayMs) =>
        new(
            new ReplicaAssignment("ep-dep-0", "ep", "dep", "model", 1, "sha", Devices.Cpu, new BatchingSpec(maxBatchSize, maxDelayMs)),
            loaded,
            new BatchingMetrics(_meters),
            _logger);

    /// <summary>Runs one request leased for the whole call, as the worker's inference API does; queued before it returns.</summary>
    private static async Task<IReadOnlyList<InferenceTensor>> RunAsync(DynamicBatcher batcher, LoadedModel loaded, IReadOnlyList<InferenceTensor> inputs)
    {
        using var lease = loaded.TryLease() ?? throw new InvalidOperationException("The session is retired.");
        return await batcher.RunAsync(lease, inputs, null, CancellationToken.None);
    }

    /// <summary>Two rows of x[2,3]: the first with a positive value, the second all negative.</summary>
    private static InferenceTensor[] MixedSignRows(int seed)
    {
        var random = new Random(seed);
        var values = new float[6];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (i < 3 ? 1 : -1) * (float)(random.NextDouble() + 0.5);
        }

        return [new InferenceTensor("x", Datatypes.Fp32, [2, 3], values)];
    }

    private static InferenceTensor[] LinearInput(int rows, int seed)
    {
        var random = new Random(seed);
        var data = new float[rows * 3];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 20 - 10);
        }

        return [new InferenceTensor("input", Datatypes.Fp32, [rows, 3], data)];
    }

    private static void AssertSameBits(IReadOnlyList<InferenceTensor> expected, IReadOnlyList<InferenceTensor> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Name, actual[i].Name);
            Assert.Equal(expected[i].Shape, actual[i].Shape);
            Assert.Equal(
                ((float[])expected[i].Data).Select(BitConverter.SingleToInt32Bits),
                ((float[])actual[i].Data).Select(BitConverter.SingleToInt32Bits));
        }
    }

    /// <summary>Meters tagged with their factory, so listeners see this test's measurements only.</summary>
    private sealed class ScopedMeterFactory : IMeterFactory
    {
        private readonly ConcurrentBag<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            options.Scope = this;
            var meter = new Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }

    /// <summary>Throws from the first measurement of one instrument: an error the batcher has no reason to expect.</summary>
    private sealed class FailingListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private int _failed;

        public FailingListener(IMeterFactory factory, string instrumentName)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == instrumentName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, _, _, _) =>
            {
                if (Interlocked.Exchange(ref _failed, 1) == 0)
                {
                    throw new InvalidOperationException(InjectedFailure);
                }
            });
            _listener.Start();
        }

        public void Dispose() => _listener.Dispose();
    }

    private sealed class RecordingLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}

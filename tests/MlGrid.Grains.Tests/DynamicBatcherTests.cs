using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using MlGrid.Contracts;
using MlGrid.Inference;
using MlGrid.Testing;
using MlGrid.Worker.Grains;

namespace MlGrid.Grains.Tests;

/// <summary>The worker's dynamic batcher on real ONNX Runtime sessions; no cluster needed.</summary>
public sealed class DynamicBatcherTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();
    private readonly MeasurementRecorder _recorder;
    private readonly List<OnnxModel> _models = [];

    public DynamicBatcherTests()
    {
        _recorder = new MeasurementRecorder(_meters);
    }

    public void Dispose()
    {
        _recorder.Dispose();
        _meters.Dispose();
        foreach (var model in _models)
        {
            model.Dispose();
        }
    }

    [Fact]
    public async Task Concurrent_requests_give_the_same_bits_as_unbatched_runs_in_fewer_runs()
    {
        var (loaded, batcher) = Linear(maxBatchSize: 16, maxDelayMs: 100);
        var requests = Enumerable.Range(0, 64).Select(i => LinearInput(rows: 1 + i % 4, seed: i)).ToArray();
        var expected = requests.Select(r => loaded.Model.Run(r)).ToArray();

        var actual = await Task.WhenAll(requests.Select(r => Task.Run(() => RunAsync(batcher, loaded, r))));

        for (var i = 0; i < requests.Length; i++)
        {
            AssertSameBits(expected[i], actual[i]);
        }

        Assert.True(batcher.IsEnabled);
        Assert.InRange(batcher.Runs, 1, requests.Length - 1);
        var sizes = _recorder.BatchSizes;
        Assert.Equal(batcher.Runs, sizes.Count);
        Assert.Equal(requests.Sum(r => r[0].Shape[0]), sizes.Sum());
        Assert.All(sizes, rows => Assert.InRange(rows, 1, 16));
        Assert.Equal(requests.Length, _recorder.QueueTimeCount);
        Assert.All(_recorder.Tags, tags =>
        {
            Assert.Equal("ep", tags["mlgrid.endpoint"]);
            Assert.Equal("dep", tags["mlgrid.deployment"]);
        });
    }

    [Fact]
    public async Task Request_larger_than_maxBatchSize_runs_alone_and_correctly()
    {
        var (loaded, batcher) = Linear(maxBatchSize: 4, maxDelayMs: 50);
        var large = LinearInput(rows: 10, seed: 100);
        var small = Enumerable.Range(0, 6).Select(i => LinearInput(rows: 1, seed: i)).ToArray();
        InferenceTensor[][] requests = [large, .. small];

        var actual = await Task.WhenAll(requests.Select(r => Task.Run(() => RunAsync(batcher, loaded, r))));

        for (var i = 0; i < requests.Length; i++)
        {
            AssertSameBits(loaded.Model.Run(requests[i]), actual[i]);
        }

        Assert.Equal([10L, 2L], actual[0][0].Shape);
        var sizes = _recorder.BatchSizes;
        Assert.Single(sizes, rows => rows == 10);
        Assert.All(sizes.Where(rows => rows != 10), rows => Assert.InRange(rows, 1, 4));
        Assert.Equal(16, sizes.Sum());
    }

    [Fact]
    public async Task Fixed_first_dimension_turns_batching_off_and_requests_still_run()
    {
        var loaded = Load(TestModels.FixedShapeRelu());
        var batcher = Batcher(loaded, maxBatchSize: 8, maxDelayMs: 50);
        var requests = Enumerable.Range(0, 20)
            .Select(i => new[] { new InferenceTensor("x", Datatypes.Fp32, [1, 4], new[] { -i, i, 0.5f - i, i * 0.25f }) })
            .ToArray();

        var actual = await Task.WhenAll(requests.Select(r => Task.Run(() => RunAsync(batcher, loaded, r))));

        Assert.False(batcher.IsEnabled);
        Assert.Contains("'x'", batcher.DisabledReason, StringComparison.Ordinal);
        Assert.Contains("fixed first dimension", batcher.DisabledReason, StringComparison.Ordinal);
        for (var i = 0; i < requests.Length; i++)
        {
            AssertSameBits(loaded.Model.Run(requests[i]), actual[i]);
        }

        Assert.Equal(requests.Length, batcher.Runs);
        Assert.Empty(_recorder.BatchSizes);
    }

    [Fact]
    public async Task Cancelled_caller_is_removed_from_its_batch_without_affecting_the_others()
    {
        var (loaded, batcher) = Linear(maxBatchSize: 32, maxDelayMs: 1000);
        var a = LinearInput(rows: 1, seed: 1);
        var b = LinearInput(rows: 3, seed: 2);
        var c = LinearInput(rows: 4, seed: 3);
        using var cancel = new CancellationTokenSource();
        using var leaseA = loaded.TryLease()!;

        var taskA = batcher.RunAsync(leaseA, a, null, cancel.Token).AsTask();
        var taskB = RunAsync(batcher, loaded, b);
        await cancel.CancelAsync();
        var taskC = RunAsync(batcher, loaded, c);

        // Cancelling completes the caller at once; it does not wait for the batch.
        Assert.True(taskA.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => taskA);
        AssertSameBits(loaded.Model.Run(b), await taskB);
        AssertSameBits(loaded.Model.Run(c), await taskC);
        Assert.Equal(1, batcher.Runs);
        Assert.Equal([7L], _recorder.BatchSizes);
        Assert.Equal(2, _recorder.QueueTimeCount);
    }

    [Fact]
    public async Task Request_cancelled_before_it_is_queued_is_not_run()
    {
        var (loaded, batcher) = Linear(maxBatchSize: 8, maxDelayMs: 10);
        using var lease = loaded.TryLease()!;

        var run = batcher.RunAsync(lease, LinearInput(rows: 1, seed: 1), null, new CancellationToken(canceled: true)).AsTask();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(0, batcher.Runs);
    }

    [Fact]
    public async Task Failing_request_in_a_batch_fails_alone_with_its_own_error()
    {
        // y[N,2] = table[idx[N]]: an index past the table's 5 rows makes ONNX Runtime fail the whole run.
        var loaded = Load(new OnnxModelBuilder("gather")
            .Input("idx", OnnxType.Int64, (long?)null)
            .Output("y", OnnxType.Float, null, 2)
            .FloatInitializer("table", [5, 2], [0f, 1f, 10f, 11f, 20f, 21f, 30f, 31f, 40f, 41f])
            .Node("Gather", ["table", "idx"], ["y"], OnnxAttribute.Int("axis", 0))
            .Build());
        var batcher = Batcher(loaded, maxBatchSize: 32, maxDelayMs: 200);
        var requests = Enumerable.Range(0, 8)
            .Select(i => new[] { new InferenceTensor("idx", Datatypes.Int64, [2], i == 5 ? new[] { 1L, 7L } : new[] { i % 5, (i + 2) % 5L }) })
            .ToArray();

        var runs = requests.Select(r => Task.Run(() => RunAsync(batcher, loaded, r))).ToArray();
        await Task.WhenAll(runs).ContinueWith(_ => { }, TaskScheduler.Default);

        var error = await Assert.ThrowsAsync<InferenceInputException>(() => runs[5]);
        Assert.Contains("ONNX Runtime rejected the inputs", error.Message, StringComparison.Ordinal);
        for (var i = 0; i < requests.Length; i++)
        {
            if (i != 5)
            {
                AssertSameBits(loaded.Model.Run(requests[i]), await runs[i]);
            }
        }
    }

    [Fact]
    public async Task Outputs_that_do_not_keep_rows_apart_fall_back_to_unbatched_runs()
    {
        // y = the rows of x[N,3] whose largest value is positive: how many is up to the values, so the declared first
        // dimension is dynamic and batching is on, yet a batched output's rows cannot be told apart by request.
        var loaded = Load(new OnnxModelBuilder("positive_rows")
            .Input("x", OnnxType.Float, null, 3)
            .Output("y", OnnxType.Float, [OnnxDim.Dynamic("M"), 3])
            .FloatInitializer("zero", [], [0f])
            .Node("ReduceMax", ["x"], ["row_max"], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0))
            .Node("Greater", ["row_max", "zero"], ["keep"])
            .Node("Compress", ["x", "keep"], ["y"], OnnxAttribute.Int("axis", 0))
            .Build());
        var batcher = Batcher(loaded, maxBatchSize: 32, maxDelayMs: 100);
        var requests = Enumerable.Range(0, 12).Select(i => MixedSignRows(rows: 2 + i % 3, seed: i)).ToArray();

        var actual = await Task.WhenAll(requests.Select(r => Task.Run(() => RunAsync(batcher, loaded, r))));

        for (var i = 0; i < requests.Length; i++)
        {
            AssertSameBits(loaded.Model.Run(requests[i]), actual[i]);
            Assert.Equal((2 + i % 3 + 1) / 2, actual[i][0].Shape[0]);
        }

        // Every request ran alone in the end; the first batch whose outputs could not be split turned batching off.
        Assert.InRange(batcher.Runs, requests.Length, requests.Length + 1);
    }

    [Fact]
    public async Task Requests_that_differ_beyond_the_first_dimension_run_in_separate_batches()
    {
        // y[N] = max over each row of x[N,K]; K is dynamic, so requests of different widths cannot be joined.
        var loaded = Load(new OnnxModelBuilder("row_max")
            .Input("x", OnnxType.Float, [OnnxDim.Dynamic("N"), OnnxDim.Dynamic("K")])
            .Output("y", OnnxType.Float, (long?)null)
            .Node("ReduceMax", ["x"], ["y"], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0))
            .Build());
        var batcher = Batcher(loaded, maxBatchSize: 64, maxDelayMs: 100);
        var requests = Enumerable.Range(0, 30).Select(i => FloatInput("x", rows: 1 + i % 2, width: 2 + i % 3, seed: i)).ToArray();
        string[]?[] outputs = [.. Enumerable.Range(0, 30).Select(i => i % 4 == 0 ? new[] { "y" } : null)];

        var actual = await Task.WhenAll(requests.Select((r, i) => Task.Run(() => RunAsync(batcher, loaded, r, outputs[i]))));

        for (var i = 0; i < requests.Length; i++)
        {
            AssertSameBits(loaded.Model.Run(requests[i]), actual[i]);
        }

        // Three widths times two output lists: at least six runs, fewer than one per request.
        Assert.InRange(batcher.Runs, 6, requests.Length - 1);
    }

    [Fact]
    public async Task Stop_runs_what_is_queued_and_later_requests_directly()
    {
        var (loaded, batcher) = Linear(maxBatchSize: 32, maxDelayMs: 600_000);
        var queued = Enumerable.Range(0, 3).Select(i => LinearInput(rows: 1, seed: i)).ToArray();
        var runs = queued.Select(r => RunAsync(batcher, loaded, r)).ToArray();

        batcher.Stop();

        // Without the stop these would wait ten minutes for a fuller batch.
        var results = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromMinutes(1));
        for (var i = 0; i < queued.Length; i++)
        {
            AssertSameBits(loaded.Model.Run(queued[i]), results[i]);
        }

        var runsBefore = batcher.Runs;
        var later = LinearInput(rows: 2, seed: 9);
        AssertSameBits(loaded.Model.Run(later), await RunAsync(batcher, loaded, later));
        Assert.Equal(runsBefore + 1, batcher.Runs);
    }

    [Fact]
    public async Task Replica_with_batching_routes_requests_through_its_batcher()
    {
        var (loaded, batcher) = Linear(maxBatchSize: 8, maxDelayMs: 20);
        var replica = new Replica(Assignment(new BatchingSpec(8, 20)), "worker");
        replica.MarkReady(loaded, batcher);
        var input = LinearInput(rows: 3, seed: 4);

        using var lease = replica.TryLease();
        Assert.NotNull(lease);
        var output = await replica.RunAsync(lease, input, null, CancellationToken.None);

        AssertSameBits(loaded.Model.Run(input), output);
        Assert.Same(batcher, replica.Batcher);
        Assert.Equal(1, batcher.Runs);
    }

    private (LoadedModel Loaded, DynamicBatcher Batcher) Linear(int maxBatchSize, int maxDelayMs)
    {
        var loaded = Load(TestModels.Linear());
        return (loaded, Batcher(loaded, maxBatchSize, maxDelayMs));
    }

    private LoadedModel Load(byte[] model)
    {
        var onnx = OnnxModel.Load(model, DevicePreference.Cpu);
        _models.Add(onnx);
        return new LoadedModel(onnx);
    }

    private DynamicBatcher Batcher(LoadedModel loaded, int maxBatchSize, int maxDelayMs) =>
        new(Assignment(new BatchingSpec(maxBatchSize, maxDelayMs)), loaded, new BatchingMetrics(_meters), NullLogger.Instance);

    private static ReplicaAssignment Assignment(BatchingSpec batching) =>
        new("ep-dep-0", "ep", "dep", "model", 1, "sha", Devices.Cpu, batching);

    /// <summary>Runs one request the way the worker's inference API does: leased for the whole call.</summary>
    private static async Task<IReadOnlyList<InferenceTensor>> RunAsync(
        DynamicBatcher batcher, LoadedModel loaded, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputs = null)
    {
        using var lease = loaded.TryLease() ?? throw new InvalidOperationException("The session is retired.");
        return await batcher.RunAsync(lease, inputs, outputs, CancellationToken.None);
    }

    /// <summary>Rows with a positive value at even indices, all-negative rows at odd ones.</summary>
    private static InferenceTensor[] MixedSignRows(int rows, int seed)
    {
        var data = FloatInput("x", rows, width: 3, seed)[0].Data;
        var values = (float[])data;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (i / 3 % 2 == 0 ? 1 : -1) * (Math.Abs(values[i]) + 0.5f);
        }

        return [new InferenceTensor("x", Datatypes.Fp32, [rows, 3], values)];
    }

    private static InferenceTensor[] LinearInput(int rows, int seed) => FloatInput("input", rows, width: 3, seed);

    private static InferenceTensor[] FloatInput(string name, int rows, int width, int seed)
    {
        var random = new Random(seed);
        var data = new float[rows * width];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 20 - 10);
        }

        return [new InferenceTensor(name, Datatypes.Fp32, [rows, width], data)];
    }

    private static void AssertSameBits(IReadOnlyList<InferenceTensor> expected, IReadOnlyList<InferenceTensor> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Name, actual[i].Name);
            Assert.Equal(expected[i].Datatype, actual[i].Datatype);
            Assert.Equal(expected[i].Shape, actual[i].Shape);
            Assert.Equal(
                ((float[])expected[i].Data).Select(BitConverter.SingleToInt32Bits),
                ((float[])actual[i].Data).Select(BitConverter.SingleToInt32Bits));
        }
    }

    private sealed class TestMeterFactory : IMeterFactory
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

    /// <summary>Batching measurements from the meters of one factory only, so parallel tests do not mix.</summary>
    private sealed class MeasurementRecorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<long> _batchSizes = new();
        private readonly ConcurrentQueue<Dictionary<string, object?>> _tags = new();
        private int _queueTimes;

        public MeasurementRecorder(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == BatchingMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                if (instrument.Name == BatchingMetrics.BatchSizeInstrument)
                {
                    _batchSizes.Enqueue(value);
                    _tags.Enqueue(tags.ToArray().ToDictionary(t => t.Key, t => t.Value));
                }
            });
            _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
            {
                if (instrument.Name == BatchingMetrics.QueueTimeInstrument)
                {
                    Interlocked.Increment(ref _queueTimes);
                    _tags.Enqueue(tags.ToArray().ToDictionary(t => t.Key, t => t.Value));
                }
            });
            _listener.Start();
        }

        public IReadOnlyList<long> BatchSizes => [.. _batchSizes];

        public int QueueTimeCount => Volatile.Read(ref _queueTimes);

        public IReadOnlyList<Dictionary<string, object?>> Tags => [.. _tags];

        public void Dispose() => _listener.Dispose();
    }
}

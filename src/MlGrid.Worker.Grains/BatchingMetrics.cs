using System.Diagnostics.Metrics;

namespace MlGrid.Worker.Grains;

/// <summary>Rows per ONNX Runtime run and time spent queued, for replicas that batch requests.</summary>
public sealed class BatchingMetrics
{
    public const string MeterName = "MlGrid.Worker";
    public const string BatchSizeInstrument = "mlgrid.worker.batch.size";
    public const string QueueTimeInstrument = "mlgrid.worker.batch.queue_time";

    private readonly Histogram<long> _batchSize;
    private readonly Histogram<double> _queueTime;

    public BatchingMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _batchSize = meter.CreateHistogram(
            BatchSizeInstrument,
            "{row}",
            "Rows in each ONNX Runtime run of a replica that batches requests",
            tags: null,
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });
        _queueTime = meter.CreateHistogram(
            QueueTimeInstrument,
            "s",
            "Time a request waited in a replica's batching queue before its run started",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });
    }

    /// <summary>The tags every measurement of one deployment carries.</summary>
    public static KeyValuePair<string, object?>[] Tags(string endpoint, string deployment) =>
        [new("mlgrid.endpoint", endpoint), new("mlgrid.deployment", deployment)];

    public void RecordBatch(long rows, ReadOnlySpan<KeyValuePair<string, object?>> tags) => _batchSize.Record(rows, tags);

    public void RecordQueueTime(TimeSpan waited, ReadOnlySpan<KeyValuePair<string, object?>> tags) => _queueTime.Record(waited.TotalSeconds, tags);
}

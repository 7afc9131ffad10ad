using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlGrid.Contracts;
using MlGrid.Datasets;
using MlGrid.Hosting;
using MlGrid.Inference;
using MlGrid.Training;

namespace MlGrid.Worker.Grains;

/// <summary>
/// The training attempts this worker runs, at most <see cref="ModelHostOptions.TrainingSlots"/> at once. Each runs on
/// the thread pool, outside any grain turn: it downloads the dataset version, trains, logs metrics to the job's MLflow
/// run, stores the ONNX model (content-addressed, and as the run's <c>model/model.onnx</c> artifact), reads its
/// signature with ONNX Runtime and reports the outcome to the job grain. An attempt stays listed until its report has
/// been delivered, so the scheduler never mistakes a finished attempt for a lost one.
/// </summary>
public sealed class TrainingHost(
    IGrainFactory grains,
    ArtifactStore artifacts,
    MlflowArtifactStore runArtifacts,
    TrainingLogStore logs,
    ILocalSiloDetails silo,
    IOptions<ModelHostOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<TrainingHost> logger)
{
    public const string ModelArtifactPath = "model/model.onnx";

    /// <summary>How long a finished attempt keeps trying to deliver its outcome (the control plane may be restarting).</summary>
    private static readonly TimeSpan ReportPatience = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<TrainingAttemptRef, RunningAttempt> _attempts = new();
    private readonly Lock _lock = new();
    private readonly string _worker = silo.SiloAddress.ToParsableString();

    public int Slots => options.Value.TrainingSlots;

    public IReadOnlyList<TrainingAttemptRef> Attempts => [.. _attempts.Keys];

    /// <summary>Starts the attempt unless it is here already; false when every slot is taken by a running attempt.</summary>
    public bool Start(TrainingAssignment assignment)
    {
        var key = new TrainingAttemptRef(assignment.JobId, assignment.Attempt);
        lock (_lock)
        {
            if (_attempts.ContainsKey(key))
            {
                return true;
            }

            if (_attempts.Values.Count(a => !a.Finished) >= Slots)
            {
                return false;
            }

            var attempt = new RunningAttempt(assignment, CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping));
            _attempts[key] = attempt;

            // Detached from the grain call that started it: training outlives the turn by minutes or hours.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(() => RunAsync(attempt));
            }

            return true;
        }
    }

    public void Cancel(string jobId, int attempt)
    {
        if (_attempts.TryGetValue(new TrainingAttemptRef(jobId, attempt), out var running))
        {
            running.Cancelled = true;
            running.Cancellation.Cancel();
        }
    }

    private async Task RunAsync(RunningAttempt attempt)
    {
        var a = attempt.Assignment;
        var job = grains.GetGrain<ITrainingJobGrain>(a.JobId);
        var log = new JobLog(logs, a.JobId, $"worker {_worker}", logger);
        var directory = Path.Combine(options.Value.TrainingDirectory, $"{a.JobId}-{a.Attempt}-{Guid.NewGuid():N}");
        Func<ITrainingJobGrain, Task> report;
        try
        {
            Directory.CreateDirectory(directory);
            log.Write($"Attempt {a.Attempt}: training {a.Spec.Trainer} ({a.Spec.Task}) with {Describe(a.Spec.Hyperparameters)}.");
            var outcome = await TrainAsync(attempt, job, log, directory);
            report = j => j.Complete(a.Attempt, outcome);
        }
        catch (OperationCanceledException) when (attempt.Cancellation.IsCancellationRequested)
        {
            var stopping = lifetime.ApplicationStopping.IsCancellationRequested && !attempt.Cancelled;
            log.Write(stopping ? "Stopped: this worker is shutting down." : "Stopped: the job was cancelled.");
            report = j => j.Fail(a.Attempt, stopping ? $"worker {_worker} shut down" : "cancelled", retryable: stopping);
        }
        catch (TrainingSpecException ex)
        {
            log.Write($"The spec does not fit the dataset: {ex.Message}");
            report = j => j.Fail(a.Attempt, ex.Message, retryable: false);
        }
        catch (Exception ex) when (ex is TrainingFailedException or DatasetFormatFailure or DatasetFormatException or ModelLoadException)
        {
            log.Write($"Training failed: {ex.Message}");
            report = j => j.Fail(a.Attempt, ex.Message, retryable: false);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Training job {Job} attempt {Attempt} failed", a.JobId, a.Attempt);
            log.Write($"Attempt failed: {ex.GetType().Name}: {ex.Message}");
            report = j => j.Fail(a.Attempt, $"{ex.GetType().Name}: {ex.Message}", retryable: true);
        }
        finally
        {
            attempt.Finished = true;
            TryDelete(directory);
        }

        await log.FlushAsync();
        await DeliverAsync(attempt, report);
        _attempts.TryRemove(new TrainingAttemptRef(a.JobId, a.Attempt), out _);
        attempt.Cancellation.Dispose();
    }

    private async Task<TrainingOutcome> TrainAsync(RunningAttempt attempt, ITrainingJobGrain job, JobLog log, string directory)
    {
        var a = attempt.Assignment;
        var cancellationToken = attempt.Cancellation.Token;
        var plan = TrainingJobSpecs.Plan(a.Spec, a.Dataset);
        var progress = new ProgressReporter(job, a.Attempt, log, logger);
        progress.Report(new TrainingProgress("downloading", 1));
        var csv = Path.Combine(directory, "dataset.csv");
        if (a.Dataset.Format == DatasetFormats.Parquet)
        {
            var parquet = Path.Combine(directory, "dataset.parquet");
            await artifacts.DownloadToAsync(a.Dataset.Sha256, parquet, cancellationToken);
            await using var input = File.OpenRead(parquet);
            await using var output = new StreamWriter(csv, false, new System.Text.UTF8Encoding(false));
            await ParquetProfiler.WriteCsvAsync(input, output, null, cancellationToken);
        }
        else if (a.Dataset.Format == DatasetFormats.Csv)
        {
            await artifacts.DownloadToAsync(a.Dataset.Sha256, csv, cancellationToken);
        }
        else
        {
            throw new DatasetFormatFailure($"Dataset version {a.Spec.DatasetRef} is {a.Dataset.Format}; the trainer reads CSV and Parquet versions.");
        }

        log.Write($"Read dataset version {a.Spec.DatasetRef} ({a.Dataset.Format}, {a.Dataset.Rows} rows, {a.Dataset.SizeBytes} bytes, sha256 {a.Dataset.Sha256[..12]}…) from blob storage.");

        var result = await Task.Run(() => TabularTrainer.Train(csv, plan, progress, TrainerMessage(log), cancellationToken), cancellationToken);
        log.Write($"Validation metrics on {result.ValidationRows} held-out rows (trained on {result.TrainingRows}): {Describe(result.Metrics)}.");
        log.Write(string.Create(CultureInfo.InvariantCulture,
            $"ONNX export checked: predictions match ML.NET's on {result.Parity.Rows} validation rows (largest difference {result.Parity.MaxDifference:G3}, labels agree on {result.Parity.LabelAgreement:P2})."));

        await LogMetricsAsync(a, result, log);

        progress.Report(new TrainingProgress("storing", 96));
        var onnxPath = Path.Combine(directory, "model.onnx");
        await File.WriteAllBytesAsync(onnxPath, result.Onnx, cancellationToken);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(result.Onnx));
        await artifacts.PutIfAbsentAsync(sha256, onnxPath, cancellationToken);
        if (a.RunArtifactUri.StartsWith(MlflowArtifactPath.UriScheme, StringComparison.OrdinalIgnoreCase))
        {
            await using var file = File.OpenRead(onnxPath);
            await runArtifacts.UploadAsync(MlflowArtifactPath.FromUri(a.RunArtifactUri) + "/" + ModelArtifactPath, file, cancellationToken);
        }
        else
        {
            log.Write($"The run's artifacts live at {a.RunArtifactUri}, which MlGrid does not write to; the model is not logged as a run artifact.");
        }

        ModelSignature signature;
        using (var model = OnnxModel.Load(onnxPath, DevicePreference.Cpu))
        {
            signature = new ModelSignature(
                [.. model.Inputs.Select(i => new TensorSignature(i.Name, i.Datatype, i.Shape))],
                [.. model.Outputs.Select(o => new TensorSignature(o.Name, o.Datatype, o.Shape))]);
        }

        log.Write($"Stored the ONNX model ({result.Onnx.Length} bytes, sha256 {sha256[..12]}…) with inputs {string.Join(", ", signature.Inputs.Select(i => i.Name))} and outputs {string.Join(", ", signature.Outputs.Select(o => o.Name))}.");
        return new TrainingOutcome(
            result.Metrics,
            sha256,
            result.Onnx.Length,
            signature,
            result.TrainingRows,
            result.ValidationRows,
            result.Parity.Rows,
            result.Parity.MaxDifference,
            "model");
    }

    /// <summary>
    /// Logs the validation metrics to the job's run: for boosted trees each metric's value after each iteration (the
    /// step), then the final values at the last step; a run someone deleted does not fail the training.
    /// </summary>
    private async Task LogMetricsAsync(TrainingAssignment a, TrainingResult result, JobLog log)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var lastStep = result.Curve.Count > 0 ? result.Curve[^1].Iteration : 0;
        var points = result.Curve
            .Where(c => c.Iteration != lastStep)
            .SelectMany(c => c.Values.Where(v => double.IsFinite(v.Value)).Select(v => new MetricPoint(v.Key, v.Value, now, c.Iteration)))
            .Concat(result.Metrics.Where(m => double.IsFinite(m.Value)).Select(m => new MetricPoint(m.Key, m.Value, now, lastStep)))
            .Append(new MetricPoint("training_rows", result.TrainingRows, now, lastStep))
            .Append(new MetricPoint("validation_rows", result.ValidationRows, now, lastStep))
            .ToList();
        if (result.Curve.Count > 0)
        {
            log.Write($"Logged {string.Join(", ", result.Curve[0].Values.Keys)} after each of {result.Curve.Count} points up to iteration {lastStep} as metric history.");
        }

        try
        {
            await grains.GetGrain<IRunGrain>(a.RunId).LogBatch(new RunBatch(points, [], [new TrackingTag("mlgrid.worker", _worker)]));
        }
        catch (RequestException ex)
        {
            log.Write($"Metrics could not be logged to run {a.RunId}: {ex.Message}");
        }
    }

    private async Task DeliverAsync(RunningAttempt attempt, Func<ITrainingJobGrain, Task> report)
    {
        var a = attempt.Assignment;
        var job = grains.GetGrain<ITrainingJobGrain>(a.JobId);
        var deadline = DateTimeOffset.UtcNow + ReportPatience;
        for (var retry = 1; ; retry++)
        {
            try
            {
                await report(job);
                return;
            }
            catch (Exception ex) when (DateTimeOffset.UtcNow < deadline)
            {
                logger.LogWarning(ex, "Training job {Job} attempt {Attempt}: the outcome could not be delivered (try {Retry}); trying again", a.JobId, a.Attempt, retry);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(retry * 2, 15)));
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Training job {Job} attempt {Attempt}: giving up delivering the outcome; the scheduler will retry the job", a.JobId, a.Attempt);
                return;
            }
        }
    }

    /// <summary>ML.NET's own messages worth a person's eye (auto-tuned parameters, warnings), without its trace chatter.</summary>
    private static Action<string> TrainerMessage(JobLog log) => message =>
    {
        if (!message.StartsWith("Trace", StringComparison.Ordinal))
        {
            var text = message.IndexOf("] ", StringComparison.Ordinal) is var end and >= 0 ? message[(end + 2)..] : message;
            log.Write($"ML.NET: {text}");
        }
    };

    private static string Describe(IReadOnlyDictionary<string, double> values) =>
        values.Count == 0 ? "defaults" : string.Join(", ", values.OrderBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => $"{v.Key}={v.Value.ToString("G6", CultureInfo.InvariantCulture)}"));

    private void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException ex)
        {
            logger.LogWarning(ex, "Could not delete training directory {Directory}", directory);
        }
    }

    private sealed class RunningAttempt(TrainingAssignment assignment, CancellationTokenSource cancellation)
    {
        public TrainingAssignment Assignment { get; } = assignment;

        public CancellationTokenSource Cancellation { get; } = cancellation;

        public volatile bool Finished;

        public volatile bool Cancelled;
    }

    /// <summary>
    /// Sends progress to the job one report at a time, newest first: concurrent grain calls may arrive in any order,
    /// and a phase reported a millisecond after another must not be overwritten by it.
    /// </summary>
    private sealed class ProgressReporter(ITrainingJobGrain job, int attempt, JobLog log, ILogger logger) : IProgress<TrainingProgress>
    {
        private readonly Lock _lock = new();
        private TrainingProgress? _pending;
        private bool _sending;
        private string _lastPhase = "";

        public void Report(TrainingProgress value)
        {
            lock (_lock)
            {
                if (value.Phase != _lastPhase)
                {
                    _lastPhase = value.Phase;
                    log.Write($"Phase: {value.Phase} ({value.Percent}%).");
                }

                _pending = value;
                if (_sending)
                {
                    return;
                }

                _sending = true;
            }

            _ = Task.Run(SendAsync);
        }

        private async Task SendAsync()
        {
            while (true)
            {
                TrainingProgress next;
                lock (_lock)
                {
                    if (_pending is null)
                    {
                        _sending = false;
                        return;
                    }

                    next = _pending;
                    _pending = null;
                }

                try
                {
                    await job.ReportProgress(attempt, next.Phase, next.Percent);
                }
                catch (Exception ex)
                {
                    // Progress is advisory; the outcome is what must arrive.
                    logger.LogDebug(ex, "Progress of attempt {Attempt} could not be reported", attempt);
                }
            }
        }
    }

    /// <summary>A dataset version the trainer cannot read; retrying elsewhere would not help.</summary>
    private sealed class DatasetFormatFailure(string message) : Exception(message);

    /// <summary>Lines for the job's log: also written to this process's log, and sent to blob storage about once a second.</summary>
    private sealed class JobLog
    {
        private readonly TrainingLogStore _store;
        private readonly string _jobId;
        private readonly string _source;
        private readonly ILogger _logger;
        private readonly List<string> _pending = [];
        private readonly Lock _lock = new();
        private Task _flushing = Task.CompletedTask;
        private bool _scheduled;

        public JobLog(TrainingLogStore store, string jobId, string source, ILogger logger)
        {
            _store = store;
            _jobId = jobId;
            _source = source;
            _logger = logger;
        }

        public void Write(string message)
        {
            _logger.LogInformation("Training job {Job}: {Message}", _jobId, message);
            lock (_lock)
            {
                _pending.Add(TrainingLogStore.Line(DateTimeOffset.UtcNow, _source, message));
                if (!_scheduled)
                {
                    _scheduled = true;
                    _flushing = Task.Run(SendSoonAsync);
                }
            }
        }

        public async Task FlushAsync()
        {
            Task flushing;
            lock (_lock)
            {
                flushing = _flushing;
            }

            await flushing;
            await SendAsync();
        }

        private async Task SendAsync()
        {
            List<string> lines;
            lock (_lock)
            {
                lines = [.. _pending];
                _pending.Clear();
            }

            try
            {
                await _store.AppendAsync(_jobId, lines, CancellationToken.None);
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Training job {Job}: {Count} log line(s) could not be stored", _jobId, lines.Count);
            }
        }

        /// <summary>Sends after a second, and again while lines keep arriving during a send.</summary>
        private async Task SendSoonAsync()
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                await SendAsync();
                lock (_lock)
                {
                    if (_pending.Count == 0)
                    {
                        _scheduled = false;
                        return;
                    }
                }
            }
        }
    }
}

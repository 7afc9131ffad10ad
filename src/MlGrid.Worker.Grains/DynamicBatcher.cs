using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using MlGrid.Inference;

namespace MlGrid.Worker.Grains;

/// <summary>
/// Joins concurrent requests to one replica into fewer ONNX Runtime runs, like Triton's dynamic batcher: requests
/// that agree on everything but their first dimension (<see cref="BatchKey"/>) are concatenated along it, run once and
/// split back. A single loop, started by the first request, takes requests from a queue; it waits at most the
/// deployment's delay after the first one for more, and a run holds at most its maximum rows.
/// </summary>
/// <remarks>
/// A queued request is claimed just before its run; until then its caller may cancel it and leave. From the claim on,
/// its caller waits for the result and so keeps the lease it took on the session, which keeps the session alive for
/// the run (a run uses its first request's session).
/// </remarks>
public sealed class DynamicBatcher
{
    private readonly LoadedModel _model;
    private readonly int _maxBatchSize;
    private readonly long _maxDelayTicks;
    private readonly int _maxCollected;
    private readonly string _replicaId;
    private readonly BatchingMetrics _metrics;
    private readonly KeyValuePair<string, object?>[] _tags;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    // Used by the loop only.
    private readonly List<Group> _groups = [];
    private readonly List<Pending> _claimed = [];
    private Pending? _carry;

    private int _started;
    private long _runs;
    private string? _disabledReason;

    /// <param name="assignment">The replica; its <see cref="ReplicaAssignment.Batching"/> must be set.</param>
    /// <param name="model">The replica's session, whose signature decides whether requests can be batched at all.</param>
    public DynamicBatcher(ReplicaAssignment assignment, LoadedModel model, BatchingMetrics metrics, ILogger logger)
    {
        var spec = assignment.Batching ?? throw new ArgumentException("The replica does not ask for batching.", nameof(assignment));
        _model = model;
        _maxBatchSize = spec.MaxBatchSize;
        _maxDelayTicks = Math.Max(0, spec.MaxDelayMs) * Stopwatch.Frequency / 1000;
        _maxCollected = checked(Math.Max(1, spec.MaxBatchSize) * 4);
        _replicaId = assignment.ReplicaId;
        _metrics = metrics;
        _tags = BatchingMetrics.Tags(assignment.Endpoint, assignment.Deployment);
        _logger = logger;

        _disabledReason = spec.MaxBatchSize <= 1
            ? $"maxBatchSize is {spec.MaxBatchSize}"
            : Batching.WhyNotBatchable(model.Model.Inputs, model.Model.Outputs);
        if (_disabledReason is not null)
        {
            logger.LogInformation("Batching is off for replica {Replica}: {Reason}; its requests run one at a time", _replicaId, _disabledReason);
        }
    }

    /// <summary>Whether requests are batched; false when the model does not allow it (see <see cref="DisabledReason"/>).</summary>
    public bool IsEnabled => DisabledReason is null;

    /// <summary>
    /// Why requests are not batched, or null when they are: the deployment or the model's signature rules it out, or a
    /// batched run gave outputs that could not be split back by request.
    /// </summary>
    public string? DisabledReason => Volatile.Read(ref _disabledReason);

    /// <summary>The ONNX Runtime runs made so far, batched or not.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>
    /// Runs one validated request, batched with concurrent compatible ones when possible. A request the batch cannot
    /// take (larger than the maximum batch, inputs that disagree on their first dimension, batching off or stopped)
    /// runs at once on the caller's lease.
    /// </summary>
    public ValueTask<IReadOnlyList<InferenceTensor>> RunAsync(
        LoadedModel.Lease lease, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputs, CancellationToken cancellationToken)
    {
        if (!IsEnabled || !ReferenceEquals(lease.Model, _model.Model) || Batching.Rows(inputs) is not { } rows || rows > _maxBatchSize)
        {
            return ValueTask.FromResult(RunDirect(lease.Model, inputs, outputs));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<IReadOnlyList<InferenceTensor>>(cancellationToken);
        }

        var pending = new Pending(lease.Model, inputs, outputs, rows);
        if (cancellationToken.CanBeCanceled)
        {
            pending.Registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((Pending)state!).Cancel(token), pending);
        }

        if (!_queue.Writer.TryWrite(pending))
        {
            // Stopped: the caller's lease still keeps the session alive, so run it as if batching were off.
            pending.Registration.Dispose();
            return cancellationToken.IsCancellationRequested
                ? ValueTask.FromCanceled<IReadOnlyList<InferenceTensor>>(cancellationToken)
                : ValueTask.FromResult(RunDirect(lease.Model, inputs, outputs));
        }

        EnsureLoop();
        return new ValueTask<IReadOnlyList<InferenceTensor>>(pending.Task);
    }

    /// <summary>
    /// Takes no more requests: what is queued still runs (without waiting for more), later requests run directly.
    /// </summary>
    public void Stop() => _queue.Writer.TryComplete();

    private IReadOnlyList<InferenceTensor> RunDirect(OnnxModel model, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputs)
    {
        Interlocked.Increment(ref _runs);
        if (IsEnabled && Batching.Rows(inputs) is { } rows)
        {
            _metrics.RecordBatch(rows, _tags);
        }

        return model.Run(inputs, outputs);
    }

    private void EnsureLoop()
    {
        if (Volatile.Read(ref _started) == 0 && Interlocked.Exchange(ref _started, 1) == 0)
        {
            // The loop outlives the request that started it; it must not carry that request's context.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(LoopAsync);
            }
        }
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        using var delay = new DelayTimer();
        try
        {
            while (true)
            {
                var first = _carry;
                _carry = null;
                if (first is null && !reader.TryRead(out first))
                {
                    if (!await reader.WaitToReadAsync())
                    {
                        return;
                    }

                    continue;
                }

                if (!first.IsQueued)
                {
                    continue;
                }

                try
                {
                    await CollectAsync(first, delay);
                    foreach (var group in _groups)
                    {
                        ExecuteOrFail(group);
                    }
                }
                catch (Exception ex)
                {
                    foreach (var group in _groups)
                    {
                        Fail(group, ex);
                    }
                }

                _groups.Clear();
            }
        }
        catch (Exception ex)
        {
            // Batches fail on their own above; should waiting on the queue ever fail, no caller may be left waiting:
            // fail what is in hand and queued, and run later requests directly.
            _logger.LogError(ex, "The batching loop of replica {Replica} failed; its requests now run one at a time", _replicaId);
            _queue.Writer.TryComplete();
            var error = new InvalidOperationException($"The batching queue of replica '{_replicaId}' failed.", ex);
            _carry?.Fail(error);
            foreach (var member in _groups.SelectMany(g => g.Members))
            {
                member.Fail(error);
            }

            while (reader.TryRead(out var queued))
            {
                queued.Fail(error);
            }
        }
    }

    /// <summary>
    /// Gathers requests behind <paramref name="first"/> into groups of compatible ones until the first group is full,
    /// a request does not fit its group (it starts the next batch), or the delay after the first request is over.
    /// </summary>
    private async ValueTask CollectAsync(Pending first, DelayTimer delay)
    {
        var primary = new Group(first);
        _groups.Add(primary);
        var collected = 1;
        var deadline = first.EnqueuedAt + _maxDelayTicks;
        while (!primary.IsFull(_maxBatchSize) && collected < _maxCollected)
        {
            if (!_queue.Reader.TryRead(out var next))
            {
                var remaining = deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0 || !await delay.WaitToReadAsync(_queue.Reader, remaining))
                {
                    return;
                }

                continue;
            }

            if (!next.IsQueued)
            {
                continue;
            }

            collected++;
            var group = Find(next);
            if (group is null)
            {
                _groups.Add(new Group(next));
            }
            else if (group.Fits(next, _maxBatchSize))
            {
                group.Add(next);
            }
            else
            {
                _carry = next;
                return;
            }
        }
    }

    private Group? Find(Pending request)
    {
        foreach (var group in _groups)
        {
            if (ReferenceEquals(group.Model, request.Model) && group.Key.Equals(request.Key))
            {
                return group;
            }
        }

        return null;
    }

    /// <summary>Runs a group; an unexpected error fails only its callers, and the loop goes on with the next group.</summary>
    private void ExecuteOrFail(Group group)
    {
        try
        {
            Execute(group);
        }
        catch (Exception ex)
        {
            Fail(group, ex);
        }
    }

    private void Fail(Group group, Exception error)
    {
        _logger.LogError(error, "A batch of {Count} requests on replica {Replica} failed", group.Members.Count, _replicaId);
        foreach (var member in group.Members)
        {
            member.Fail(error);
        }
    }

    private void Execute(Group group)
    {
        _claimed.Clear();
        foreach (var member in group.Members)
        {
            if (member.TryClaim())
            {
                _claimed.Add(member);
            }
        }

        if (_claimed.Count == 0)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        foreach (var member in _claimed)
        {
            _metrics.RecordQueueTime(Stopwatch.GetElapsedTime(member.EnqueuedAt, now), _tags);
        }

        if (_claimed.Count == 1 || !IsEnabled)
        {
            RunEachAlone();
            return;
        }

        var requests = new IReadOnlyList<InferenceTensor>[_claimed.Count];
        var rows = new long[_claimed.Count];
        long total = 0;
        for (var i = 0; i < _claimed.Count; i++)
        {
            requests[i] = _claimed[i].Inputs;
            rows[i] = _claimed[i].Rows;
            total += rows[i];
        }

        IReadOnlyList<InferenceTensor> outputs;
        try
        {
            var inputs = Batching.ConcatInputs(requests);
            outputs = Run(_claimed[0].Model, inputs, _claimed[0].Outputs, total);
        }
        catch (Exception ex)
        {
            // Often one request's values (an index out of range, say): run each alone so only that one fails, with its own error.
            _logger.LogDebug(ex, "A batched run of {Count} requests on replica {Replica} failed; running them one at a time", _claimed.Count, _replicaId);
            RunEachAlone();
            return;
        }

        if (!Batching.TrySplit(outputs, rows, out var perRequest, out var whyNot))
        {
            // The model's outputs depend on the batch, not on each request alone: every later batch would be run twice.
            TurnOff(whyNot);
            RunEachAlone();
            return;
        }

        for (var i = 0; i < _claimed.Count; i++)
        {
            _claimed[i].Succeed(perRequest[i]);
        }
    }

    private void TurnOff(string reason)
    {
        if (Interlocked.CompareExchange(ref _disabledReason, reason, null) is null)
        {
            _logger.LogWarning("Batching is off for replica {Replica} from now on: {Reason}; its requests run one at a time", _replicaId, reason);
        }
    }

    private void RunEachAlone()
    {
        foreach (var member in _claimed)
        {
            RunAlone(member);
        }
    }

    private void RunAlone(Pending request)
    {
        try
        {
            request.Succeed(Run(request.Model, request.Inputs, request.Outputs, request.Rows));
        }
        catch (Exception ex)
        {
            request.Fail(ex);
        }
    }

    private IReadOnlyList<InferenceTensor> Run(OnnxModel model, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputs, long rows)
    {
        Interlocked.Increment(ref _runs);
        _metrics.RecordBatch(rows, _tags);
        return model.Run(inputs, outputs);
    }

    /// <summary>Waits for the queue with a time limit, reusing one token source while it is not cancelled.</summary>
    private sealed class DelayTimer : IDisposable
    {
        private CancellationTokenSource _source = new();

        /// <summary>True when a request arrived within <paramref name="stopwatchTicks"/>; false on timeout or when stopped and empty.</summary>
        public async ValueTask<bool> WaitToReadAsync(ChannelReader<Pending> reader, long stopwatchTicks)
        {
            // Timers count whole milliseconds; rounding up keeps a sub-millisecond remainder from spinning.
            var milliseconds = (int)Math.Clamp(Math.Ceiling(stopwatchTicks * 1000.0 / Stopwatch.Frequency), 1, int.MaxValue - 1);
            _source.CancelAfter(milliseconds);
            var wait = reader.WaitToReadAsync(_source.Token).AsTask();
            await ((Task)wait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!_source.TryReset())
            {
                _source.Dispose();
                _source = new CancellationTokenSource();
            }

            return wait.IsCompletedSuccessfully && wait.Result;
        }

        public void Dispose() => _source.Dispose();
    }

    /// <summary>Compatible requests gathered for one run.</summary>
    private sealed class Group(Pending first)
    {
        public List<Pending> Members { get; } = [first];

        public long Rows { get; private set; } = first.Rows;

        public BatchKey Key => Members[0].Key;

        public OnnxModel Model => Members[0].Model;

        public bool IsFull(int maxBatchSize) => Rows >= maxBatchSize || Members.Count >= maxBatchSize;

        public bool Fits(Pending request, int maxBatchSize) => Rows + request.Rows <= maxBatchSize && Members.Count < maxBatchSize;

        public void Add(Pending request)
        {
            Members.Add(request);
            Rows += request.Rows;
        }
    }

    /// <summary>One queued request and its caller's task.</summary>
    private sealed class Pending : TaskCompletionSource<IReadOnlyList<InferenceTensor>>
    {
        private const int Queued = 0;
        private const int Claimed = 1;
        private const int Cancelled = 2;

        private int _state;

        public Pending(OnnxModel model, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputs, long rows)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            Model = model;
            Inputs = inputs;
            Outputs = outputs;
            Rows = rows;
            Key = BatchKey.Of(inputs, outputs);
            EnqueuedAt = Stopwatch.GetTimestamp();
        }

        public OnnxModel Model { get; }

        public IReadOnlyList<InferenceTensor> Inputs { get; }

        public IReadOnlyList<string>? Outputs { get; }

        public long Rows { get; }

        public BatchKey Key { get; }

        public long EnqueuedAt { get; }

        public CancellationTokenRegistration Registration { get; set; }

        public bool IsQueued => Volatile.Read(ref _state) == Queued;

        /// <summary>Takes the request for a run; false when its caller cancelled it first.</summary>
        public bool TryClaim() => Interlocked.CompareExchange(ref _state, Claimed, Queued) == Queued;

        /// <summary>Removes the request unless a run has claimed it (then its caller waits for that run).</summary>
        public void Cancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
            {
                TrySetCanceled(token);
            }
        }

        public void Succeed(IReadOnlyList<InferenceTensor> outputs)
        {
            Registration.Dispose();
            TrySetResult(outputs);
        }

        public void Fail(Exception error)
        {
            Registration.Dispose();
            TrySetException(error);
        }
    }
}

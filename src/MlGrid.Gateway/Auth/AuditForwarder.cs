using System.Threading.Channels;
using MlGrid.Contracts;
using MlGrid.Gateway.Http;
using MlGrid.Governance;

namespace MlGrid.Gateway.Auth;

/// <summary>
/// Sends the gateway's refusals (401, 403, 413, 429) to the audit trail in the background: a bounded buffer that a
/// refusal never waits on, batches of up to <see cref="MaxBatch"/> events at least every <see cref="FlushInterval"/>,
/// and retries with backoff while the trail is unreachable. What does not fit the buffer is counted and recorded later
/// as one summary event, so the trail says that something is missing and how much.
/// </summary>
internal sealed class AuditForwarder : BackgroundService
{
    public const int DefaultCapacity = 10_000;
    public const int MaxBatch = 500;
    public const string Anonymous = "anonymous";

    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(250);

    private const int MaxTargetLength = 512;

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ShutdownFlush = TimeSpan.FromSeconds(2);
    private static readonly Principal Gateway = Principal.System("gateway");

    private readonly Channel<AuditEvent> _queue;
    private readonly IAuditSink _sink;
    private readonly TimeProvider _time;
    private readonly RefusalThrottle _throttle;
    private readonly ILogger<AuditForwarder> _logger;
    private readonly List<AuditEvent> _batch = new(MaxBatch);
    private long _dropped;
    private DateTime _lastWarning = DateTime.MinValue;

    public AuditForwarder(IAuditSink sink, TimeProvider time, ILogger<AuditForwarder> logger)
        : this(sink, time, logger, DefaultCapacity)
    {
    }

    internal AuditForwarder(IAuditSink sink, TimeProvider time, ILogger<AuditForwarder> logger, int capacity)
    {
        _sink = sink;
        _time = time;
        _logger = logger;
        _throttle = new RefusalThrottle(time);
        // Wait mode only so that TryWrite says false when full (DropWrite would drop silently): nothing ever waits.
        _queue = Channel.CreateBounded<AuditEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Refusals that did not fit the buffer and are not yet in a summary event.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Records a refused call. The principal is the authenticated one when there is one, else
    /// <paramref name="principalId"/> (the id of a key that did not check out), else <see cref="Anonymous"/>.
    /// <paramref name="detail"/> is the reason given to the caller, which never repeats a credential.
    /// </summary>
    public void Refused(HttpContext context, int status, string detail, string? principalId = null)
    {
        var call = context.GetGatewayCall();
        var principal = call?.Principal;
        var path = context.Request.Path.Value is { Length: > 0 } p ? p : "/";
        if (path.Length > MaxTargetLength)
        {
            path = path[..MaxTargetLength] + "…";
        }

        Record(new AuditEvent(
            _time.GetUtcNow(),
            principal?.Id ?? principalId ?? Anonymous,
            principal?.Name,
            $"{context.Request.Method} {path}",
            path,
            AuditOutcomes.Refused,
            status,
            call?.RequestId,
            detail));
    }

    internal void Record(AuditEvent refusal)
    {
        if (_throttle.Admit(refusal) && !_queue.Writer.TryWrite(refusal))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await WaitForEventsAsync(stoppingToken);
                Fill();
                await SendAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // One last try for what is buffered, bounded so that a dead control plane does not hold up shutdown.
        Fill();
        if (_batch.Count > 0)
        {
            using var timeout = new CancellationTokenSource(ShutdownFlush);
            try
            {
                await _sink.AppendAsync([.. _batch], timeout.Token);
            }
            catch (Exception ex)
            {
                _logger.LogWarning("{Count} audit events could not be sent before shutdown ({Message})", _batch.Count + _queue.Reader.Count, ex.Message);
            }
        }
    }

    /// <summary>Returns when events are waiting, or after <see cref="FlushInterval"/> so that summaries go out too.</summary>
    private async Task WaitForEventsAsync(CancellationToken stoppingToken)
    {
        using var interval = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        interval.CancelAfter(FlushInterval);
        try
        {
            await _queue.Reader.WaitToReadAsync(interval.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Fill()
    {
        while (_batch.Count < MaxBatch && _queue.Reader.TryRead(out var refusal))
        {
            _batch.Add(refusal);
        }

        // Summaries go straight into the batch, never through the buffer: a full buffer cannot lose them.
        _batch.AddRange(_throttle.Drain());
        var dropped = Interlocked.Exchange(ref _dropped, 0);
        if (dropped > 0)
        {
            _batch.Add(new AuditEvent(_time.GetUtcNow(), Gateway.Id, Gateway.Name, "summary", "gateway", AuditOutcomes.Refused, 0, null,
                $"{dropped} refused calls were not recorded individually (buffer full)"));
        }
    }

    /// <summary>Sends the batch, trying again with backoff until it is stored; new refusals wait in the buffer meanwhile.</summary>
    private async Task SendAsync(CancellationToken stoppingToken)
    {
        var backoff = FirstBackoff;
        while (_batch.Count > 0)
        {
            try
            {
                await _sink.AppendAsync([.. _batch], stoppingToken);
                _batch.Clear();
            }
            catch (Exception ex)
            {
                if (stoppingToken.IsCancellationRequested)
                {
                    // Shutting down: the batch stays for the one last try on the way out, not lost with a faulted loop.
                    return;
                }

                if (DateTime.UtcNow - _lastWarning >= WarningInterval)
                {
                    _lastWarning = DateTime.UtcNow;
                    _logger.LogWarning("Cannot send {Count} audit events ({Message}); retrying, {Buffered} more buffered",
                        _batch.Count, ex.Message, _queue.Reader.Count);
                }

                await Task.Delay(backoff, stoppingToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }
}

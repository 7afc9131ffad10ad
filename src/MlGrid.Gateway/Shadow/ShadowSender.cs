using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using MlGrid.Gateway.Stats;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace MlGrid.Gateway.Shadow;

/// <summary>
/// Sends shadow copies in the background: a bounded queue (full means the copy is dropped and counted), a fixed
/// number of senders, a timeout per copy and a connection pool of its own. Answers are read and discarded; outcomes go
/// to the shadow statistics only, never to the caller.
/// </summary>
internal sealed class ShadowSender : BackgroundService
{
    private static readonly TimeSpan DefaultReactivation = TimeSpan.FromSeconds(10);

    private readonly Channel<ShadowRequest> _queue;
    private readonly HttpMessageInvoker _client;
    private readonly ShadowOptions _options;
    private readonly IProxyStateLookup _lookup;
    private readonly IDestinationHealthUpdater _health;
    private readonly GatewayStats _stats;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger<ShadowSender> _logger;

    public ShadowSender(
        IOptions<ShadowOptions> options,
        IProxyStateLookup lookup,
        IDestinationHealthUpdater health,
        GatewayStats stats,
        GatewayMetrics metrics,
        ILogger<ShadowSender> logger)
    {
        _options = options.Value;
        _lookup = lookup;
        _health = health;
        _stats = stats;
        _metrics = metrics;
        _logger = logger;
        Budget = new ShadowBudget(_options.MaxBufferedBytes);
        _queue = Channel.CreateBounded<ShadowRequest>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = _options.Timeout,
        });
    }

    /// <summary>Copies waiting to be sent.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>The memory that bodies of waiting and in-flight copies may hold; reserved before a body is buffered.</summary>
    public ShadowBudget Budget { get; }

    /// <summary>Whether the queue takes another copy now; checked before buffering a body for one.</summary>
    public bool HasQueueRoom => _queue.Reader.Count < _options.QueueCapacity;

    /// <summary>
    /// Queues the copy, or drops and counts it when the queue is full. Takes ownership either way: its body, reserved in
    /// <see cref="Budget"/> when it was read, is released once the copy has been sent or dropped.
    /// </summary>
    public bool TryEnqueue(ShadowRequest request)
    {
        if (!_queue.Writer.TryWrite(request))
        {
            request.Dispose();
            Dropped(request.Endpoint, request.Deployment);
            return false;
        }

        return true;
    }

    public void Dropped(string endpoint, string deployment)
    {
        _stats.For(endpoint, deployment).Shadow.AddDropped();
        _metrics.ShadowDropped(endpoint, deployment);
    }

    public override void Dispose()
    {
        _client.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var senders = new Task[_options.Concurrency];
        for (var i = 0; i < senders.Length; i++)
        {
            senders[i] = Task.Run(() => SendLoopAsync(stoppingToken), CancellationToken.None);
        }

        await Task.WhenAll(senders);
        while (_queue.Reader.TryRead(out var left))
        {
            left.Dispose();
        }
    }

    private async Task SendLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (_queue.Reader.TryRead(out var request))
                {
                    await SendAsync(request, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(ShadowRequest request, CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        int status;
        try
        {
            status = await ForwardAsync(request, stoppingToken);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && stoppingToken.IsCancellationRequested))
        {
            // Whatever else goes wrong with one copy must not end this sender: once every sender has ended, every
            // copy is dropped, and nothing says why.
            _logger.LogWarning(ex, "Shadow copy of {Endpoint}/{Deployment} failed", request.Endpoint, request.Deployment);
            status = StatusCodes.Status502BadGateway;
        }
        finally
        {
            request.Dispose();
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        _stats.For(request.Endpoint, request.Deployment).Shadow.Record(status, elapsed);
        _metrics.RecordShadow(request.Endpoint, request.Deployment, status, elapsed);
    }

    /// <summary>Sends one copy and returns its status, or the one the gateway would have answered for a failure.</summary>
    private async Task<int> ForwardAsync(ShadowRequest request, CancellationToken stoppingToken)
    {
        if (!_lookup.TryGetCluster(request.ClusterId, out var cluster) || cluster.DestinationsState.AvailableDestinations is not { Count: > 0 } destinations)
        {
            return StatusCodes.Status503ServiceUnavailable;
        }

        var destination = destinations[Random.Shared.Next(destinations.Count)];
        request.Message.RequestUri = RequestUtilities.MakeDestinationAddress(destination.Model.Config.Address, request.Path, request.Query);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            using var response = await _client.SendAsync(request.Message, timeout.Token);
            await response.Content.CopyToAsync(Stream.Null, timeout.Token);
            return (int)response.StatusCode;
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return StatusCodes.Status504GatewayTimeout;
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError)
        {
            // The replica is gone; live traffic to it (if any) and later copies skip it for a while.
            _health.SetPassive(cluster, destination, DestinationHealth.Unhealthy,
                cluster.Model.Config.HealthCheck?.Passive?.ReactivationPeriod ?? DefaultReactivation);
            _logger.LogDebug(ex, "Shadow copy to {Destination} of {Endpoint}/{Deployment} could not connect", destination.DestinationId, request.Endpoint, request.Deployment);
            return StatusCodes.Status502BadGateway;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            _logger.LogDebug(ex, "Shadow copy to {Destination} of {Endpoint}/{Deployment} failed", destination.DestinationId, request.Endpoint, request.Deployment);
            return StatusCodes.Status502BadGateway;
        }
    }
}

using MlGrid.Contracts;

namespace MlGrid.Gateway.Auth;

/// <summary>
/// Follows the key registry: subscribes for pushed changes (renewed every 15 s) and also asks every second whether
/// there is a newer ring, so a revoked key stops working here within about a second even when a push is lost. While
/// the control plane is unreachable the gateway keeps checking keys against the last ring it has.
/// </summary>
internal sealed class KeyRingFollower : BackgroundService, IKeyRingObserver
{
    public static readonly TimeSpan Renewal = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    /// <summary>While the registry stays unreachable, one warning this often rather than one a second.</summary>
    private static readonly TimeSpan WarningInterval = TimeSpan.FromSeconds(30);

    /// <summary>A call to a silo that hangs must not stall the poll behind it for Orleans' whole response timeout.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly Func<IKeyRegistryGrain> _registry;
    private readonly Func<IKeyRingObserver, IKeyRingObserver> _reference;
    private readonly KeyRingState _state;
    private readonly ILogger<KeyRingFollower> _logger;
    private readonly TimeSpan _poll;

    public KeyRingFollower(IClusterClient cluster, KeyRingState state, ILogger<KeyRingFollower> logger)
        : this(() => cluster.GetGrain<IKeyRegistryGrain>(IKeyRegistryGrain.Key), cluster.CreateObjectReference<IKeyRingObserver>, state, logger, Poll)
    {
    }

    /// <summary>For tests: a registry and an observer reference without a cluster, and a chosen poll interval.</summary>
    internal KeyRingFollower(
        Func<IKeyRegistryGrain> registry,
        Func<IKeyRingObserver, IKeyRingObserver> reference,
        KeyRingState state,
        ILogger<KeyRingFollower> logger,
        TimeSpan poll)
    {
        _registry = registry;
        _reference = reference;
        _state = state;
        _logger = logger;
        _poll = poll;
    }

    public void OnKeysChanged(KeyRing ring) => Apply(ring, "push");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var registry = _registry();
        var reference = _reference(this);
        _state.UseRefresher(() => FetchAsync(registry, stoppingToken));
        var subscribedUntil = DateTime.MinValue;
        DateTime? failingSince = null;
        var lastWarning = DateTime.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow >= subscribedUntil)
                {
                    await registry.Subscribe(reference).WaitAsync(CallTimeout, stoppingToken);
                    subscribedUntil = DateTime.UtcNow + Renewal;
                }

                // -1 so that even a registry that never had a key (version 0) counts as loaded.
                if (await registry.GetIfNewer(_state.Ring?.Version ?? -1).WaitAsync(CallTimeout, stoppingToken) is { } ring)
                {
                    Apply(ring, "poll");
                }

                if (failingSince is { } since)
                {
                    _logger.LogInformation("Key registry reachable again after {Seconds:0} s", (DateTime.UtcNow - since).TotalSeconds);
                    failingSince = null;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Subscribe again as soon as the registry is back: its subscriber list may not have survived.
                subscribedUntil = DateTime.MinValue;
                failingSince ??= DateTime.UtcNow;
                if (DateTime.UtcNow - lastWarning >= WarningInterval)
                {
                    lastWarning = DateTime.UtcNow;
                    _logger.LogWarning("Cannot reach the key registry ({Message}); checking keys against ring version {Version}",
                        ex.Message, _state.Ring?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none (only the bootstrap admin key works)");
                }
            }

            await Task.Delay(_poll, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        try
        {
            await registry.Unsubscribe(reference);
        }
        catch (Exception ex)
        {
            _logger.LogDebug(ex, "Unsubscribe on shutdown failed");
        }
    }

    /// <summary>One on-demand fetch of a newer ring; a failure is left to the regular poll, which logs it.</summary>
    private async Task FetchAsync(IKeyRegistryGrain registry, CancellationToken stoppingToken)
    {
        try
        {
            if (await registry.GetIfNewer(_state.Ring?.Version ?? -1).WaitAsync(CallTimeout, stoppingToken) is { } ring)
            {
                Apply(ring, "fetch");
            }
        }
        catch (Exception ex)
        {
            _logger.LogDebug(ex, "On-demand key ring fetch failed");
        }
    }

    private void Apply(KeyRing ring, string how)
    {
        if (_state.TryUpdate(ring))
        {
            // Counts only: the ring holds salted hashes, which have no business in logs.
            _logger.LogInformation("Key ring version {Version} ({How}): {Keys} keys, {Usable} usable",
                ring.Version, how, ring.Keys.Count, ring.Keys.Values.Count(k => k.RevokedAt is null && (k.ExpiresAt is null || k.ExpiresAt > DateTimeOffset.UtcNow)));
        }
    }
}

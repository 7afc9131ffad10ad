using MlGrid.Contracts;

namespace MlGrid.Gateway.Auth;

/// <summary>The API keys this gateway checks callers against: swapped whole, never mutated, kept when the control plane is away.</summary>
public sealed class KeyRingState
{
    /// <summary>Asks for the registry's ring at most this often on behalf of unknown keys, so they cannot flood it.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(100);

    private readonly Lock _lock = new();
    private volatile KeyRing? _ring;
    private Func<Task>? _refresher;
    private Task _refreshing = Task.CompletedTask;
    private long? _lastRefresh;

    /// <summary>Null until the first ring arrives: until then only the bootstrap admin key is known.</summary>
    public KeyRing? Ring => _ring;

    /// <summary>Takes a newer ring; older or equal versions (late or repeated pushes) are ignored.</summary>
    public bool TryUpdate(KeyRing ring)
    {
        // Pushes and polls race: compare and swap as one step so a revocation is never undone by a late older ring.
        lock (_lock)
        {
            if (_ring is { } current && ring.Version <= current.Version)
            {
                return false;
            }

            _ring = ring;
            return true;
        }
    }

    public ApiKeyRecord? Find(string keyId) => _ring?.Keys.GetValueOrDefault(keyId);

    /// <summary>What fetches a newer ring on demand (the follower); without one, <see cref="RefreshAsync"/> does nothing.</summary>
    public void UseRefresher(Func<Task> refresher) => _refresher = refresher;

    /// <summary>
    /// Fetches a newer ring now, for a key this ring does not know: a key created a moment ago is not refused while its
    /// push is still on the way. Callers share one fetch at a time, and fetches start at most every
    /// <see cref="RefreshInterval"/>.
    /// </summary>
    public Task RefreshAsync()
    {
        if (_refresher is not { } refresher)
        {
            return Task.CompletedTask;
        }

        lock (_lock)
        {
            if (!_refreshing.IsCompleted)
            {
                return _refreshing;
            }

            var now = Environment.TickCount64;
            if (_lastRefresh is { } last && now - last < (long)RefreshInterval.TotalMilliseconds)
            {
                return Task.CompletedTask;
            }

            _lastRefresh = now;
            return _refreshing = refresher();
        }
    }
}

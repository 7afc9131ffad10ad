using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using MlGrid.Governance;
using Orleans.Utilities;

namespace MlGrid.ControlPlane.Grains;

public sealed class KeyRegistryState
{
    public long Version { get; set; }

    public Dictionary<string, ApiKeyRecord> Keys { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The one registry of API keys. It stores salted hashes only; the secret of a new key leaves this grain once, in the
/// answer to <see cref="Create"/>. Every change is persisted before it is answered or pushed to the gateways, so a
/// revoked key stays revoked across restarts.
/// </summary>
[GrainType("mlgrid.key-registry")]
public sealed class KeyRegistryGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<KeyRegistryState> state,
    ILogger<KeyRegistryGrain> logger) : Grain, IKeyRegistryGrain
{
    /// <summary>Gateways renew their subscription well within this.</summary>
    public static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromMinutes(1);

    public const int MaxActiveKeys = 10_000;
    public const int MaxEndpoints = 100;
    public const int MaxRequestsPerSecond = 1_000_000;

    private readonly ObserverManager<IKeyRingObserver> _observers = new(SubscriptionLifetime, logger);

    public async Task<CreatedKey> Create(KeyRequest request, string createdBy)
    {
        var now = DateTimeOffset.UtcNow;
        Names.EnsureValid(request.Name, "key");
        var endpoints = ValidEndpoints(request);
        if (request.ExpiresAt is { } expires && expires <= now)
        {
            throw RequestException.Invalid($"'expiresAt' {expires:u} is not in the future; leave it out for a key that does not expire.");
        }

        if (request.RequestsPerSecond is < 1 or > MaxRequestsPerSecond)
        {
            throw RequestException.Invalid(
                $"'requestsPerSecond' {request.RequestsPerSecond} is outside 1 to {MaxRequestsPerSecond:N0}; leave it out for no per-key limit.");
        }

        var active = state.State.Keys.Values.Where(k => IsActive(k, now)).ToList();
        if (active.FirstOrDefault(k => k.Name == request.Name) is { } existing)
        {
            throw new RequestException(RequestErrorKind.Conflict,
                $"An active key named '{request.Name}' exists already ({existing.Id}); revoke it first or choose another name.");
        }

        if (active.Count >= MaxActiveKeys)
        {
            throw new RequestException(RequestErrorKind.Conflict,
                $"There are {active.Count} active keys, the most allowed; revoke keys that are no longer used first.");
        }

        var (id, secret, _) = ApiKeys.Generate();
        var salt = ApiKeys.NewSalt();
        var record = new ApiKeyRecord(
            id,
            request.Name,
            request.Role,
            endpoints,
            request.ExpiresAt?.ToUniversalTime(),
            now,
            string.IsNullOrEmpty(createdBy) ? "unknown" : createdBy,
            null,
            salt,
            ApiKeys.Hash(salt, secret),
            request.RequestsPerSecond);

        await CommitAsync(keys => keys[id] = record);
        logger.LogInformation("Key {KeyId} '{KeyName}' ({Role}) created by {CreatedBy}", id, record.Name, Roles.Name(record.Role), record.CreatedBy);
        return new CreatedKey(record, secret);
    }

    public async Task<ApiKeyRecord> Revoke(string id)
    {
        if (id is null || !state.State.Keys.TryGetValue(id, out var record))
        {
            throw RequestException.NotFound($"API key '{id}' does not exist.");
        }

        if (record.RevokedAt is not null)
        {
            return record;
        }

        var revoked = record with { RevokedAt = DateTimeOffset.UtcNow };
        await CommitAsync(keys => keys[id] = revoked);
        logger.LogInformation("Key {KeyId} '{KeyName}' revoked", id, record.Name);
        return revoked;
    }

    public Task<KeyRing> Get() => Task.FromResult(Snapshot());

    public Task<KeyRing?> GetIfNewer(long knownVersion) =>
        Task.FromResult(state.State.Version > knownVersion ? Snapshot() : null);

    public Task Subscribe(IKeyRingObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task Unsubscribe(IKeyRingObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    private static bool IsActive(ApiKeyRecord key, DateTimeOffset now) =>
        key.RevokedAt is null && (key.ExpiresAt is null || key.ExpiresAt > now);

    private static List<string> ValidEndpoints(KeyRequest request)
    {
        var requested = request.Endpoints ?? [];
        if (requested.Count == 0)
        {
            return [];
        }

        if (request.Role != Role.Predictor)
        {
            throw RequestException.Invalid(
                $"The endpoints scope applies to predictor keys only; keys with the {Roles.Name(request.Role)} role reach every endpoint, so leave 'endpoints' out.");
        }

        var endpoints = new List<string>();
        foreach (var endpoint in requested)
        {
            Names.EnsureValid(endpoint, "endpoint");
            if (!endpoints.Contains(endpoint, StringComparer.Ordinal))
            {
                endpoints.Add(endpoint);
            }
        }

        if (endpoints.Count > MaxEndpoints)
        {
            throw RequestException.Invalid($"A key can be scoped to at most {MaxEndpoints} endpoints; this one names {endpoints.Count}.");
        }

        return endpoints;
    }

    /// <summary>Applies a change to a copy, persists it, and only then makes it current and tells the gateways.</summary>
    private async Task CommitAsync(Action<Dictionary<string, ApiKeyRecord>> change)
    {
        var current = state.State;
        var keys = new Dictionary<string, ApiKeyRecord>(current.Keys, StringComparer.Ordinal);
        change(keys);
        state.State = new KeyRegistryState { Version = current.Version + 1, Keys = keys };
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = current;
            throw;
        }

        var ring = Snapshot();
        _observers.Notify(o => o.OnKeysChanged(ring));
    }

    private KeyRing Snapshot() =>
        new(state.State.Version, new Dictionary<string, ApiKeyRecord>(state.State.Keys, StringComparer.Ordinal));
}

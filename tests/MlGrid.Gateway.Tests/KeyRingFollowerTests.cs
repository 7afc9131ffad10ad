using Microsoft.Extensions.Logging.Abstractions;
using MlGrid.Contracts;
using MlGrid.Gateway.Auth;

namespace MlGrid.Gateway.Tests;

/// <summary>The key ring follower against a registry that can lose pushes and go away.</summary>
public sealed class KeyRingFollowerTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task A_revocation_arrives_by_polling_when_no_push_comes()
    {
        var registry = new FakeRegistry(Ring(1, revoked: false));
        var state = new KeyRingState();
        using var follower = new KeyRingFollower(() => registry, o => o, state, NullLogger<KeyRingFollower>.Instance, Poll);
        await follower.StartAsync(CancellationToken.None);

        await GatewayHarness.EventuallyAsync(() => state.Ring?.Version == 1, "the first ring is loaded");
        Assert.Equal(1, registry.Subscriptions);
        registry.Ring = Ring(2, revoked: true);

        await GatewayHarness.EventuallyAsync(() => state.Ring?.Version == 2, "the revocation is polled", seconds: 2);
        Assert.NotNull(state.Find("key_000000000001")!.RevokedAt);
        await follower.StopAsync(CancellationToken.None);
        Assert.Equal(1, registry.Unsubscriptions);
    }

    [Fact]
    public async Task Pushes_apply_at_once_and_older_rings_never_replace_newer_ones()
    {
        var registry = new FakeRegistry(Ring(5, revoked: false));
        var state = new KeyRingState();
        using var follower = new KeyRingFollower(() => registry, o => o, state, NullLogger<KeyRingFollower>.Instance, TimeSpan.FromMinutes(1));
        await follower.StartAsync(CancellationToken.None);
        await GatewayHarness.EventuallyAsync(() => state.Ring?.Version == 5, "the first ring is loaded");

        registry.Observer!.OnKeysChanged(Ring(6, revoked: true));
        registry.Observer.OnKeysChanged(Ring(4, revoked: false));

        Assert.Equal(6, state.Ring!.Version);
        Assert.NotNull(state.Find("key_000000000001")!.RevokedAt);
        await follower.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_last_ring_is_kept_while_the_registry_is_unreachable_and_the_subscription_is_renewed_after()
    {
        var registry = new FakeRegistry(Ring(1, revoked: false));
        var state = new KeyRingState();
        using var follower = new KeyRingFollower(() => registry, o => o, state, NullLogger<KeyRingFollower>.Instance, Poll);
        await follower.StartAsync(CancellationToken.None);
        await GatewayHarness.EventuallyAsync(() => state.Ring?.Version == 1, "the first ring is loaded");

        registry.Down = true;
        await Task.Delay(Poll * 5);
        Assert.Equal(1, state.Ring!.Version);

        registry.Ring = Ring(2, revoked: true);
        registry.Down = false;
        await GatewayHarness.EventuallyAsync(() => state.Ring?.Version == 2, "the newer ring is read once the registry is back");
        Assert.True(registry.Subscriptions >= 2, "subscribes again after the registry was away");
        await follower.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task An_empty_registry_counts_as_a_loaded_ring()
    {
        var registry = new FakeRegistry(KeyRing.Empty);
        var state = new KeyRingState();
        using var follower = new KeyRingFollower(() => registry, o => o, state, NullLogger<KeyRingFollower>.Instance, Poll);
        await follower.StartAsync(CancellationToken.None);

        await GatewayHarness.EventuallyAsync(() => state.Ring is not null, "the empty ring is loaded");
        await follower.StopAsync(CancellationToken.None);
    }

    private static KeyRing Ring(long version, bool revoked) => new(version, new Dictionary<string, ApiKeyRecord>
    {
        ["key_000000000001"] = new("key_000000000001", "ci", Role.Editor, [], null, DateTimeOffset.UtcNow, "admin",
            revoked ? DateTimeOffset.UtcNow : null, "00", "00", null),
    });

    private sealed class FakeRegistry(KeyRing ring) : IKeyRegistryGrain
    {
        public volatile KeyRing Ring = ring;
        public volatile bool Down;
        public int Subscriptions;
        public int Unsubscriptions;

        public IKeyRingObserver? Observer { get; private set; }

        public Task<KeyRing?> GetIfNewer(long knownVersion) => Down
            ? Task.FromException<KeyRing?>(new TimeoutException("control plane unreachable"))
            : Task.FromResult(Ring.Version > knownVersion ? Ring : null);

        public Task Subscribe(IKeyRingObserver observer)
        {
            if (Down)
            {
                return Task.FromException(new TimeoutException("control plane unreachable"));
            }

            Observer = observer;
            Interlocked.Increment(ref Subscriptions);
            return Task.CompletedTask;
        }

        public Task Unsubscribe(IKeyRingObserver observer)
        {
            Interlocked.Increment(ref Unsubscriptions);
            return Task.CompletedTask;
        }

        public Task<KeyRing> Get() => Task.FromResult(Ring);

        public Task<CreatedKey> Create(KeyRequest request, string createdBy) => throw new NotSupportedException();

        public Task<ApiKeyRecord> Revoke(string id) => throw new NotSupportedException();
    }
}

using MlGrid.Contracts;
using MlGrid.Governance;

namespace MlGrid.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class KeyRegistryGrainTests(ClusterFixture fixture)
{
    private static readonly TimeSpan NotificationTimeout = TimeSpan.FromSeconds(15);

    private readonly IClusterClient _client = fixture.Client;

    private IKeyRegistryGrain Registry => _client.GetGrain<IKeyRegistryGrain>(IKeyRegistryGrain.Key);

    private static KeyRequest Request(Role role = Role.Editor, IReadOnlyList<string>? endpoints = null, DateTimeOffset? expiresAt = null, int? requestsPerSecond = null) =>
        new(TestData.UniqueName("key"), role, endpoints ?? [], expiresAt, requestsPerSecond);

    [Fact]
    public async Task Create_stores_a_hash_that_the_returned_secret_matches_and_never_the_secret()
    {
        var created = await Registry.Create(Request(Role.Editor, requestsPerSecond: 20), "admin");

        var ring = await Registry.Get();
        var stored = ring.Keys[created.Record.Id];
        Assert.Equal(created.Record with { Endpoints = stored.Endpoints }, stored);
        Assert.True(ApiKeys.Matches(stored, created.Secret));
        Assert.False(ApiKeys.Matches(stored, created.Secret + "x"));
        Assert.DoesNotContain(created.Secret, new[] { stored.Id, stored.Name, stored.Salt, stored.Hash, stored.CreatedBy });
        Assert.Equal(("admin", Role.Editor, 20), (stored.CreatedBy, stored.Role, stored.RequestsPerSecond));
        Assert.Null(stored.RevokedAt);

        var check = KeyCheck.Check(ApiKeys.Format(stored.Id, created.Secret), ring, null, DateTimeOffset.UtcNow);
        Assert.True(check.Accepted);
        Assert.Equal(Role.Editor, check.Principal!.Role);
    }

    [Fact]
    public async Task Create_bumps_the_version_and_tells_observers()
    {
        var before = await Registry.Get();
        var name = TestData.UniqueName("key");
        var observer = new RecordingObserver(r => r.Keys.Values.Any(k => k.Name == name));
        var reference = _client.CreateObjectReference<IKeyRingObserver>(observer);
        await Registry.Subscribe(reference);
        try
        {
            var created = await Registry.Create(Request() with { Name = name }, "admin");

            var ring = await observer.Matched.WaitAsync(NotificationTimeout);
            Assert.True(ring.Version > before.Version);
            Assert.Equal(created.Record.Hash, ring.Keys[created.Record.Id].Hash);
        }
        finally
        {
            await Registry.Unsubscribe(reference);
            _client.DeleteObjectReference<IKeyRingObserver>(reference);
        }
    }

    [Fact]
    public async Task Create_refuses_a_second_active_key_with_the_same_name()
    {
        var first = await Registry.Create(Request(), "admin");

        var error = await TestData.RefusedAsync(RequestErrorKind.Conflict, () => Registry.Create(Request() with { Name = first.Record.Name }, "admin"));

        Assert.Contains(first.Record.Id, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_reuses_the_name_of_a_revoked_key()
    {
        var first = await Registry.Create(Request(), "admin");
        await Registry.Revoke(first.Record.Id);

        var second = await Registry.Create(Request() with { Name = first.Record.Name }, "admin");

        Assert.NotEqual(first.Record.Id, second.Record.Id);
    }

    [Theory]
    [InlineData(Role.Reader)]
    [InlineData(Role.Editor)]
    [InlineData(Role.Admin)]
    public async Task Create_refuses_endpoints_on_a_key_that_is_not_a_predictor(Role role)
    {
        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid, () => Registry.Create(Request(role, ["fraud"]), "admin"));

        Assert.Contains("endpoints scope applies to predictor keys only", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_keeps_each_endpoint_of_a_predictor_key_once()
    {
        var created = await Registry.Create(Request(Role.Predictor, ["fraud", "churn", "fraud"]), "admin");

        Assert.Equal(["fraud", "churn"], created.Record.Endpoints);
    }

    [Fact]
    public async Task Create_refuses_an_invalid_endpoint_name()
    {
        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid, () => Registry.Create(Request(Role.Predictor, ["no/slash"]), "admin"));

        Assert.Contains("endpoint name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_refuses_more_than_100_endpoints()
    {
        var endpoints = Enumerable.Range(0, 101).Select(i => $"e{i}").ToList();

        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid, () => Registry.Create(Request(Role.Predictor, endpoints), "admin"));

        Assert.Contains("at most 100", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("-dash-first")]
    public async Task Create_refuses_an_invalid_name(string name)
    {
        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid, () => Registry.Create(Request() with { Name = name }, "admin"));

        Assert.Contains("key name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_refuses_an_expiry_in_the_past()
    {
        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid,
            () => Registry.Create(Request(expiresAt: DateTimeOffset.UtcNow.AddMinutes(-1)), "admin"));

        Assert.Contains("not in the future", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_000_001)]
    public async Task Create_refuses_a_rate_outside_1_to_a_million(int requestsPerSecond)
    {
        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid,
            () => Registry.Create(Request(requestsPerSecond: requestsPerSecond), "admin"));

        Assert.Contains("requestsPerSecond", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_sets_RevokedAt_bumps_the_version_and_tells_observers()
    {
        var created = await Registry.Create(Request(), "admin");
        var before = await Registry.Get();
        var observer = new RecordingObserver(r => r.Keys.TryGetValue(created.Record.Id, out var k) && k.RevokedAt is not null);
        var reference = _client.CreateObjectReference<IKeyRingObserver>(observer);
        await Registry.Subscribe(reference);
        try
        {
            var revoked = await Registry.Revoke(created.Record.Id);

            Assert.NotNull(revoked.RevokedAt);
            var ring = await observer.Matched.WaitAsync(NotificationTimeout);
            Assert.True(ring.Version > before.Version);
            Assert.Equal(revoked.RevokedAt, (await Registry.Get()).Keys[created.Record.Id].RevokedAt);
            Assert.False(KeyCheck.Check(ApiKeys.Format(created.Record.Id, created.Secret), ring, null, DateTimeOffset.UtcNow).Accepted);
        }
        finally
        {
            await Registry.Unsubscribe(reference);
            _client.DeleteObjectReference<IKeyRingObserver>(reference);
        }
    }

    [Fact]
    public async Task Revoke_of_a_revoked_key_changes_nothing()
    {
        var created = await Registry.Create(Request(), "admin");
        var first = await Registry.Revoke(created.Record.Id);
        var version = (await Registry.Get()).Version;

        var second = await Registry.Revoke(created.Record.Id);

        Assert.Equal(first.RevokedAt, second.RevokedAt);
        Assert.Equal(first.Hash, second.Hash);
        Assert.Null(await Registry.GetIfNewer(version));
    }

    [Fact]
    public async Task Revoke_of_an_unknown_key_is_not_found()
    {
        await TestData.RefusedAsync(RequestErrorKind.NotFound, () => Registry.Revoke("key_000000000000"));
    }

    [Fact]
    public async Task GetIfNewer_answers_only_for_an_older_version()
    {
        var created = await Registry.Create(Request(), "admin");
        var current = await Registry.Get();

        Assert.Null(await Registry.GetIfNewer(current.Version));
        Assert.Null(await Registry.GetIfNewer(current.Version + 1));
        var newer = await Registry.GetIfNewer(current.Version - 1);
        Assert.NotNull(newer);
        Assert.True(newer.Version >= current.Version);
        Assert.Contains(created.Record.Id, newer.Keys.Keys);
    }

    /// <summary>Completes <see cref="Matched"/> with the first ring that meets the condition; other notifications are ignored.</summary>
    private sealed class RecordingObserver(Func<KeyRing, bool> condition) : IKeyRingObserver
    {
        private readonly TaskCompletionSource<KeyRing> _matched = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<KeyRing> Matched => _matched.Task;

        public void OnKeysChanged(KeyRing ring)
        {
            if (condition(ring))
            {
                _matched.TrySetResult(ring);
            }
        }
    }
}

using System.Net;
using MlGrid.Contracts;
using MlGrid.Gateway.Auth;
using MlGrid.Governance;

namespace MlGrid.Gateway.Tests;

/// <summary>A key the gateway's ring does not know yet is looked up once more before it is refused.</summary>
public sealed class KeyRefreshTests
{
    [Fact]
    public async Task A_key_created_a_moment_ago_is_accepted_before_its_push_arrives()
    {
        await using var gateway = await GatewayHarness.StartAsync();
        var (id, secret, key) = ApiKeys.Generate();
        var salt = ApiKeys.NewSalt();
        var record = new ApiKeyRecord(id, "fresh", Role.Reader, [], null, DateTimeOffset.UtcNow, "admin", null, salt, ApiKeys.Hash(salt, secret), null);
        var fetches = 0;
        gateway.Keys.UseRefresher(() =>
        {
            Interlocked.Increment(ref fetches);
            var current = gateway.Keys.Ring!;
            gateway.Keys.TryUpdate(new KeyRing(current.Version + 1, new Dictionary<string, ApiKeyRecord>(current.Keys) { [id] = record }));
            return Task.CompletedTask;
        });

        using var client = gateway.ClientWith(key);
        using var response = await client.GetAsync("/api/v1/models");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, fetches);
    }

    [Fact]
    public async Task An_unknown_key_is_still_refused_after_the_lookup()
    {
        await using var gateway = await GatewayHarness.StartAsync();
        var fetches = 0;
        gateway.Keys.UseRefresher(() =>
        {
            Interlocked.Increment(ref fetches);
            return Task.CompletedTask;
        });

        using var client = gateway.ClientWith(ApiKeys.Generate().Key);
        using var response = await client.GetAsync("/api/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(1, fetches);
    }

    [Fact]
    public async Task Concurrent_lookups_share_one_fetch_and_fetches_are_spaced()
    {
        var state = new KeyRingState();
        var release = new TaskCompletionSource();
        var fetches = 0;
        state.UseRefresher(async () =>
        {
            Interlocked.Increment(ref fetches);
            await release.Task;
        });

        var waiting = Enumerable.Range(0, 20).Select(_ => state.RefreshAsync()).ToList();
        Assert.Equal(1, fetches);
        release.SetResult();
        await Task.WhenAll(waiting);

        await state.RefreshAsync();
        Assert.Equal(1, fetches);
        await Task.Delay(KeyRingState.RefreshInterval + TimeSpan.FromMilliseconds(50));
        await state.RefreshAsync();
        Assert.Equal(2, fetches);
    }
}

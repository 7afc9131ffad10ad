using System.Net;
using System.Text;
using MlGrid.Contracts;
using MlGrid.Gateway.Shadow;
using MlGrid.Gateway.Stats;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>The shadow memory budget: reserved before a mirrored body is buffered, never at the live request's expense.</summary>
public sealed class ShadowBudgetTests
{
    [Fact]
    public void TryReserve_takes_bytes_up_to_the_limit_and_Release_gives_them_back()
    {
        var budget = new ShadowBudget(100);

        Assert.True(budget.TryReserve(60));
        Assert.False(budget.TryReserve(41));
        Assert.Equal(60, budget.Reserved);
        Assert.True(budget.TryReserve(40));
        Assert.False(budget.TryReserve(1));
        Assert.True(budget.TryReserve(0));

        budget.Release(60);
        Assert.Equal(40, budget.Reserved);
        Assert.True(budget.TryReserve(60));
    }

    [Fact]
    public void Concurrent_reservations_never_go_past_the_limit()
    {
        var budget = new ShadowBudget(1_000);
        var taken = 0;

        Parallel.For(0, 10_000, _ =>
        {
            if (budget.TryReserve(7))
            {
                Interlocked.Increment(ref taken);
            }
        });

        Assert.Equal(1_000 / 7, taken);
        Assert.Equal(taken * 7, budget.Reserved);
    }

    [Fact]
    public async Task A_mirrored_body_is_reserved_before_the_live_request_and_a_copy_past_the_budget_is_dropped_at_once()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var mirror = await FakeReplica.StartAsync("green-0");
        live.Delay = TimeSpan.FromSeconds(1);
        await using var gateway = await StartAsync(new Dictionary<string, string?> { ["Gateway:Shadow:MaxBufferedBytes"] = "100000" });
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url), Deployment("green", 0, mirror.Url)],
            Mirror: new MirrorSpec("green", 100)));
        var budget = gateway.Service<ShadowSender>().Budget;
        var shadow = gateway.Service<GatewayStats>().For("iris", "green").Shadow;
        var body = new string('x', 60_000);

        var first = gateway.InferAsync("iris", body);
        await EventuallyAsync(() => live.Requests.Count == 1, "the first request reaches the live replica");
        Assert.Equal(60_000, budget.Reserved);

        // Both live requests are in flight at once: the second copy does not fit next to the first and is dropped
        // before its body is buffered, not after its live request.
        var second = gateway.InferAsync("iris", body);
        await EventuallyAsync(() => live.Requests.Count == 2, "the second request reaches the live replica");
        Assert.Equal(1, shadow.Dropped);
        Assert.Equal(60_000, budget.Reserved);

        using (var firstResponse = await first)
        using (var secondResponse = await second)
        {
            Assert.Equal($"blue-0:{body.Length}", await firstResponse.Content.ReadAsStringAsync());
            Assert.Equal($"blue-0:{body.Length}", await secondResponse.Content.ReadAsStringAsync());
        }

        Assert.All(live.Requests, r => Assert.Equal(body, r.Body));
        await EventuallyAsync(() => shadow.Requests == 1 && budget.Reserved == 0, "the copy is sent and its bytes are given back");
        Assert.Equal(body, Assert.Single(mirror.Requests).Body);
        Assert.Equal(1, shadow.Dropped);
    }

    [Fact]
    public async Task A_chunked_body_past_the_budget_reaches_the_live_replica_whole_and_its_copy_is_dropped()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var mirror = await FakeReplica.StartAsync("green-0");
        live.Delay = TimeSpan.FromSeconds(1);
        await using var gateway = await StartAsync(new Dictionary<string, string?> { ["Gateway:Shadow:MaxBufferedBytes"] = "100000" });
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url), Deployment("green", 0, mirror.Url)],
            Mirror: new MirrorSpec("green", 100)));
        var budget = gateway.Service<ShadowSender>().Budget;
        var shadow = gateway.Service<GatewayStats>().For("iris", "green").Shadow;
        var body = string.Concat(Enumerable.Range(0, 30_000).Select(i => $"{i % 10_000:D9},"));

        var pending = gateway.InferAsync("iris", "", r => r.Content = new ChunkedContent(body));
        await EventuallyAsync(() => !live.Requests.IsEmpty, "the request reaches the live replica");
        Assert.Equal(1, shadow.Dropped);
        Assert.InRange(budget.Reserved, 1, 100_000);

        using var response = await pending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"blue-0:{body.Length}", await response.Content.ReadAsStringAsync());
        Assert.Equal(body, Assert.Single(live.Requests).Body);
        await EventuallyAsync(() => budget.Reserved == 0, "the bytes read before the budget ran out are given back");

        // A chunked body within the budget is mirrored whole.
        var small = new string('y', 40_000);
        using (var mirrored = await gateway.InferAsync("iris", "", r => r.Content = new ChunkedContent(small)))
        {
            Assert.Equal(HttpStatusCode.OK, mirrored.StatusCode);
        }

        await EventuallyAsync(() => shadow.Requests == 1 && budget.Reserved == 0, "the small copy is sent and its bytes are given back");
        Assert.Equal(small, Assert.Single(mirror.Requests).Body);
        Assert.Equal(1, shadow.Dropped);
    }

    [Fact]
    public async Task A_copy_that_fails_unexpectedly_counts_as_502_and_the_senders_go_on()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var gateway = await StartAsync(new Dictionary<string, string?> { ["Gateway:Shadow:Concurrency"] = "1" });
        // The shadow client refuses the scheme with NotSupportedException, which is no transport failure.
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url), Deployment("green", 0, "ftp://127.0.0.1:9/replicas/green-0")],
            Mirror: new MirrorSpec("green", 100)));

        for (var i = 0; i < 3; i++)
        {
            using var response = await gateway.InferAsync("iris", "{}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var shadow = gateway.Service<GatewayStats>().For("iris", "green").Shadow;
        await EventuallyAsync(() => shadow.Requests == 3, "every copy is sent by the one sender and counted");
        Assert.Equal(3, shadow.StatusCounts()["502"]);
        Assert.Equal(0, shadow.Dropped);
        Assert.Equal(0, gateway.Service<ShadowSender>().Budget.Reserved);
    }

    /// <summary>A body of unknown length: sent chunked, without Content-Length, in several writes.</summary>
    private sealed class ChunkedContent(string text) : HttpContent
    {
        private readonly byte[] _bytes = Encoding.UTF8.GetBytes(text);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < _bytes.Length; offset += 8_192)
            {
                await stream.WriteAsync(_bytes.AsMemory(offset, Math.Min(8_192, _bytes.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

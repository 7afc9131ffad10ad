using System.Net;
using System.Text.Json;
using MlGrid.Contracts;
using MlGrid.Gateway.Limits;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>Per-key and per-endpoint request rates: 429 with Retry-After, a message naming the limit, an audit entry.</summary>
public sealed class RateLimitTests
{
    private const string Body = "{\"inputs\":[]}";

    [Fact]
    public async Task A_key_over_its_own_rate_gets_429_with_retry_after_and_other_keys_do_not()
    {
        await using var gateway = await StartAsync();
        var (record, key) = gateway.AddKey("batch-job", Role.Reader, requestsPerSecond: 1);
        var (_, other) = gateway.AddKey("dashboard", Role.Reader);
        using var client = gateway.ClientWith(key);
        using var otherClient = gateway.ClientWith(other);

        using (var first = await client.GetAsync("/api/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var second = await client.GetAsync("/api/v1/models");

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.InRange(second.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 2);
        var problem = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Too many requests", problem.GetProperty("title").GetString());
        Assert.StartsWith("Rate limit of 1 requests/second for key 'batch-job' exceeded", problem.GetProperty("detail").GetString());
        Assert.Single(gateway.ControlPlane.Requests);
        for (var i = 0; i < 3; i++)
        {
            using var unlimited = await otherClient.GetAsync("/api/v1/models");
            Assert.Equal(HttpStatusCode.OK, unlimited.StatusCode);
        }

        await EventuallyAsync(() => gateway.Audit.Events.Any(e => e.Principal == record.Id && e.Status == 429 && e.Detail!.Contains("batch-job", StringComparison.Ordinal)),
            "the 429 is audited");
    }

    [Fact]
    public async Task The_default_key_rate_applies_to_keys_without_their_own_and_the_tokens_come_back()
    {
        await using var gateway = await StartAsync(new Dictionary<string, string?> { ["Gateway:RateLimits:KeyRequestsPerSecond"] = "2" });
        using var anonymous = gateway.ClientWith(null);
        using (var warmUp = await anonymous.GetAsync("/v2/health/live"))
        {
            Assert.Equal(HttpStatusCode.OK, warmUp.StatusCode);
        }

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await gateway.Client.GetAsync("/gateway/v1/stats");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        using var later = await gateway.Client.GetAsync("/gateway/v1/stats");
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);

        for (var i = 0; i < 5; i++)
        {
            using var probe = await anonymous.GetAsync("/v2/health/ready");
            Assert.NotEqual(HttpStatusCode.TooManyRequests, probe.StatusCode);
        }
    }

    [Fact]
    public async Task An_endpoint_over_its_rate_gets_429_whoever_calls_and_its_probes_are_not_limited()
    {
        await using var replica = await FakeReplica.StartAsync("r-0");
        await using var gateway = await StartAsync();
        gateway.Publish(
            new EndpointRoute("iris", 1, [Deployment("blue", 100, replica.Url)], RateLimit: new RateLimitSpec(1)),
            new EndpointRoute("wine", 1, [Deployment("blue", 100, replica.Url)]));
        var (_, key) = gateway.AddKey("app", Role.Predictor);
        using var client = gateway.ClientWith(key);

        using (var first = await gateway.InferAsync("iris", Body))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var second = await client.PostAsync("/v2/models/iris/infer", new StringContent(Body));

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.True(second.Headers.RetryAfter!.Delta!.Value.TotalSeconds >= 1);
        var error = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.StartsWith("Rate limit of 1 requests/second for endpoint 'iris' exceeded", error);
        for (var i = 0; i < 3; i++)
        {
            using var wine = await gateway.InferAsync("wine", Body);
            Assert.Equal(HttpStatusCode.OK, wine.StatusCode);
            using var ready = await client.GetAsync("/v2/models/iris/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        Assert.Equal(4, replica.Requests.Count);
    }

    [Fact]
    public async Task The_default_endpoint_rate_applies_to_endpoints_without_their_own_and_a_changed_limit_takes_effect()
    {
        await using var replica = await FakeReplica.StartAsync("r-0");
        await using var gateway = await StartAsync(new Dictionary<string, string?> { ["Gateway:RateLimits:EndpointRequestsPerSecond"] = "1" });
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, replica.Url)]));

        using (var first = await gateway.InferAsync("iris", Body))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using (var second = await gateway.InferAsync("iris", Body))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        }

        gateway.Publish(new EndpointRoute("iris", 2, [Deployment("blue", 100, replica.Url)], RateLimit: new RateLimitSpec(100)));
        for (var i = 0; i < 5; i++)
        {
            using var raised = await gateway.InferAsync("iris", Body);
            Assert.Equal(HttpStatusCode.OK, raised.StatusCode);
        }
    }

    [Theory]
    [InlineData(1, 1, 1000)]
    [InlineData(2, 1, 500)]
    [InlineData(10, 1, 100)]
    [InlineData(15, 2, 133)]
    [InlineData(1000, 100, 100)]
    public void A_bucket_holds_one_seconds_worth_and_refills_at_the_rate(int rate, int tokensPerPeriod, int periodMs)
    {
        var partition = RequestRateLimits.Partition(new RequestRateLimits.Scope("key", "k", rate));
        using var limiter = (System.Threading.RateLimiting.TokenBucketRateLimiter)partition.Factory(partition.PartitionKey);

        Assert.Equal(rate, limiter.GetStatistics()!.CurrentAvailablePermits);
        Assert.Equal(TimeSpan.FromMilliseconds(periodMs), TimeSpan.FromMilliseconds(Math.Floor(limiter.ReplenishmentPeriod.TotalMilliseconds)));
        Assert.Equal(tokensPerPeriod * 1000.0 / rate, limiter.ReplenishmentPeriod.TotalMilliseconds, 0.01);
    }
}

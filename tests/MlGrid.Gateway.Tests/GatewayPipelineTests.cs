using System.Diagnostics;
using System.Net;
using System.Text.Json;
using MlGrid.Contracts;
using MlGrid.Gateway.Routing;
using MlGrid.Gateway.Stats;
using Yarp.ReverseProxy.Model;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>The gateway pipeline end to end in process: routing table in, real Kestrel replicas behind it.</summary>
public sealed class GatewayPipelineTests
{
    private static readonly string Body = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,4],\"data\":[1,2,3,4]}]}";

    [Fact]
    public async Task A_request_to_a_dead_replica_is_retried_on_a_live_one_and_the_dead_one_leaves_the_rotation()
    {
        await using var live = await FakeReplica.StartAsync("blue-live");
        var dead = DeadReplica("blue-dead");
        await using var gateway = await StartAsync();
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, dead, live.Url)]));

        for (var i = 0; i < 30; i++)
        {
            using var response = await gateway.InferAsync("iris", Body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal($"blue-live:{Body.Length}", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(30, live.Requests.Count);
        Assert.All(live.Requests, r => Assert.Equal(Body, r.Body));
        var stats = gateway.Service<GatewayStats>().For("iris", "blue").Live;
        Assert.Equal(30, stats.Requests);
        Assert.Equal(0, stats.Errors);
        Assert.InRange(stats.Retries, 1, 30);

        var cluster = gateway.Cluster("iris", "blue");
        await EventuallyAsync(() => cluster.DestinationsState.AvailableDestinations is [{ DestinationId: var id }] && id == live.Url,
            "the dead replica leaves the cluster's available destinations");
        Assert.Equal(DestinationHealth.Unhealthy, cluster.Destinations[dead].Health.Passive);
    }

    [Fact]
    public async Task A_request_gives_up_with_502_after_two_retries_when_no_replica_answers()
    {
        await using var gateway = await StartAsync();
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, DeadReplica("a"), DeadReplica("b"), DeadReplica("c"), DeadReplica("d"))]));

        using var response = await gateway.InferAsync("iris", Body);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("did not answer", error.RootElement.GetProperty("error").GetString());
        Assert.Equal("blue", response.Headers.GetValues("x-mlgrid-deployment").Single());
        var stats = gateway.Service<GatewayStats>().For("iris", "blue").Live;
        Assert.Equal(InferenceRouting.MaxRetries, stats.Retries);
        Assert.Equal(1, stats.Errors);
        Assert.Equal(1, stats.StatusCounts()["502"]);

        // Once every replica is marked unhealthy, YARP falls back to all of them rather than to none: callers keep
        // getting 502 from the replicas, never a 503 for a cluster emptied by passive health.
        var cluster = gateway.Cluster("iris", "blue");
        for (var i = 0; i < 5 && cluster.Destinations.Values.Any(d => d.Health.Passive != DestinationHealth.Unhealthy); i++)
        {
            using var again = await gateway.InferAsync("iris", Body);
            Assert.Equal(HttpStatusCode.BadGateway, again.StatusCode);
        }

        Assert.All(cluster.Destinations.Values, d => Assert.Equal(DestinationHealth.Unhealthy, d.Health.Passive));
        await EventuallyAsync(() => cluster.DestinationsState.AvailableDestinations.Count == 4, "all replicas are available again in panic mode");
        using var panic = await gateway.InferAsync("iris", Body);
        Assert.Equal(HttpStatusCode.BadGateway, panic.StatusCode);
    }

    [Fact]
    public async Task A_new_cluster_with_passive_health_serves_at_once()
    {
        await using var replica = await FakeReplica.StartAsync("blue-0");
        await using var gateway = await StartAsync();

        // A cluster that did not exist, then one that goes from no replica to one.
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, replica.Url), Deployment("green", 0)]));
        using (var first = await gateway.InferAsync("iris", Body))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        gateway.Publish(new EndpointRoute("iris", 2, [Deployment("blue", 0, replica.Url), Deployment("green", 100, replica.Url)]));
        using (var second = await gateway.InferAsync("iris", Body))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.Equal("green", second.Headers.GetValues("x-mlgrid-deployment").Single());
        }

        var green = gateway.Cluster("iris", "green");
        Assert.True(green.Model.Config.HealthCheck?.Passive?.Enabled);
        Assert.Equal(ReplicaHealthPolicy.PolicyName, green.Model.Config.HealthCheck!.Passive!.Policy);
        Assert.Single(green.DestinationsState.AvailableDestinations);
    }

    [Fact]
    public async Task A_slow_shadow_deployment_does_not_delay_the_caller_and_gets_a_marked_copy()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var mirror = await FakeReplica.StartAsync("green-0");
        mirror.Delay = TimeSpan.FromSeconds(5);
        await using var gateway = await StartAsync(new Dictionary<string, string?> { ["Gateway:Shadow:Timeout"] = "00:00:01" });
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url), Deployment("green", 0, mirror.Url)],
            Mirror: new MirrorSpec("green", 100)));

        var watch = Stopwatch.StartNew();
        using var response = await gateway.InferAsync("iris", Body);
        watch.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"blue-0:{Body.Length}", await response.Content.ReadAsStringAsync());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"the caller waited {watch.Elapsed} for a 5 s shadow replica");

        await EventuallyAsync(() => !mirror.Requests.IsEmpty, "the shadow replica receives the copy");
        var copy = Assert.Single(mirror.Requests);
        Assert.Equal("1", copy.ShadowHeader);
        Assert.Equal(Body, copy.Body);
        Assert.Equal("/replicas/green-0/v2/models/iris/infer", copy.Path);
        Assert.Equal("", Assert.Single(live.Requests).ShadowHeader);

        var stats = gateway.Service<GatewayStats>();
        await EventuallyAsync(() => stats.For("iris", "green").Shadow.Requests == 1, "the shadow copy times out and is counted");
        Assert.Equal(1, stats.For("iris", "green").Shadow.StatusCounts()["504"]);
        Assert.Equal(1, stats.For("iris", "green").Shadow.Errors);
        Assert.Equal(0, stats.For("iris", "green").Live.Requests);
        Assert.Equal(1, stats.For("iris", "blue").Live.Requests);
        Assert.Equal(0, stats.For("iris", "blue").Shadow.Requests);
    }

    [Fact]
    public async Task A_failing_or_unreachable_shadow_deployment_never_reaches_the_caller()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var failing = await FakeReplica.StartAsync("green-0");
        failing.Status = 500;
        await using var gateway = await StartAsync();
        gateway.Publish(
            new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url), Deployment("green", 0, failing.Url)], Mirror: new MirrorSpec("green", 100)),
            new EndpointRoute("wine", 1, [Deployment("v1", 100, live.Url), Deployment("v2", 0, DeadReplica("v2-0"))], Mirror: new MirrorSpec("v2", 100)));

        for (var i = 0; i < 5; i++)
        {
            using var iris = await gateway.InferAsync("iris", Body);
            using var wine = await gateway.InferAsync("wine", Body);
            Assert.Equal(HttpStatusCode.OK, iris.StatusCode);
            Assert.Equal(HttpStatusCode.OK, wine.StatusCode);
        }

        var stats = gateway.Service<GatewayStats>();
        await EventuallyAsync(() => stats.For("iris", "green").Shadow.Requests == 5 && stats.For("wine", "v2").Shadow.Requests == 5,
            "every shadow copy is sent and counted");
        Assert.Equal(5, stats.For("iris", "green").Shadow.StatusCounts()["500"]);
        Assert.Equal(5, stats.For("wine", "v2").Shadow.Errors);
        Assert.Equal(0, stats.For("iris", "blue").Live.Errors);
        Assert.Equal(0, stats.For("wine", "v1").Live.Errors);
    }

    [Fact]
    public async Task Copies_beyond_the_shadow_queue_are_dropped_and_counted()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var mirror = await FakeReplica.StartAsync("green-0");
        mirror.Delay = TimeSpan.FromSeconds(20);
        await using var gateway = await StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Shadow:Timeout"] = "00:00:30",
            ["Gateway:Shadow:QueueCapacity"] = "1",
            ["Gateway:Shadow:Concurrency"] = "1",
        });
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url), Deployment("green", 0, mirror.Url)],
            Mirror: new MirrorSpec("green", 100)));

        for (var i = 0; i < 6; i++)
        {
            using var response = await gateway.InferAsync("iris", Body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // One copy in flight and one queued at most while the shadow replica sleeps: the rest are dropped.
        var shadow = gateway.Service<GatewayStats>().For("iris", "green").Shadow;
        Assert.InRange(shadow.Dropped, 4, 5);
    }

    [Fact]
    public async Task A_mirrored_request_is_replayed_from_its_buffer_when_the_first_replica_is_dead()
    {
        await using var live = await FakeReplica.StartAsync("blue-live");
        await using var mirror = await FakeReplica.StartAsync("green-0");
        await using var gateway = await StartAsync();
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, DeadReplica("blue-dead"), live.Url), Deployment("green", 0, mirror.Url)],
            Mirror: new MirrorSpec("green", 100)));
        var large = "{\"pad\":\"" + new string('x', 300_000) + "\"}";

        for (var i = 0; i < 20; i++)
        {
            using var response = await gateway.InferAsync("iris", large);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal($"blue-live:{large.Length}", await response.Content.ReadAsStringAsync());
        }

        Assert.All(live.Requests, r => Assert.Equal(large, r.Body));
        Assert.True(gateway.Service<GatewayStats>().For("iris", "blue").Live.Retries >= 1);
        await EventuallyAsync(() => mirror.Requests.Count == 20, "every copy reaches the shadow replica");
        Assert.All(mirror.Requests, r => Assert.Equal(large, r.Body));
    }

    [Fact]
    public async Task A_caller_cannot_mark_live_traffic_as_shadow()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var gateway = await StartAsync();
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url)]));

        using var response = await gateway.InferAsync("iris", Body, r => r.Headers.Add("x-mlgrid-shadow", "1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", Assert.Single(live.Requests).ShadowHeader);
    }

    [Fact]
    public async Task Sticky_header_keeps_each_caller_on_one_deployment()
    {
        await using var blue = await FakeReplica.StartAsync("blue-0");
        await using var green = await FakeReplica.StartAsync("green-0");
        await using var gateway = await StartAsync();
        var deployments = new[] { Deployment("blue", 50, blue.Url), Deployment("green", 50, green.Url) };
        gateway.Publish(new EndpointRoute("iris", 1, deployments, Sticky: new StickySpec("x-user", null)));

        var seen = new HashSet<string>();
        for (var user = 0; user < 20; user++)
        {
            var key = $"user-{user}";
            var expected = StickySplitter.Choose(deployments, key)!.Name;
            seen.Add(expected);
            for (var i = 0; i < 3; i++)
            {
                using var response = await gateway.InferAsync("iris", Body, r => r.Headers.Add("x-user", key));
                Assert.Equal(expected, response.Headers.GetValues("x-mlgrid-deployment").Single());
                Assert.False(response.Headers.Contains("Set-Cookie"));
            }
        }

        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public async Task Sticky_cookie_is_issued_to_a_new_caller_and_keeps_it_on_one_deployment()
    {
        await using var blue = await FakeReplica.StartAsync("blue-0");
        await using var green = await FakeReplica.StartAsync("green-0");
        await using var gateway = await StartAsync();
        var deployments = new[] { Deployment("blue", 50, blue.Url), Deployment("green", 50, green.Url) };
        gateway.Publish(new EndpointRoute("iris", 1, deployments, Sticky: new StickySpec(null, "mlgrid-user")));

        for (var caller = 0; caller < 10; caller++)
        {
            using var first = await gateway.InferAsync("iris", Body);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            var setCookie = Assert.Single(first.Headers.GetValues("Set-Cookie"));
            Assert.StartsWith("mlgrid-user=", setCookie);
            Assert.Contains("path=/", setCookie);
            Assert.Contains("httponly", setCookie);
            Assert.Contains("samesite=lax", setCookie);
            Assert.Contains("max-age=31536000", setCookie);
            var key = setCookie["mlgrid-user=".Length..setCookie.IndexOf(';', StringComparison.Ordinal)];
            var expected = StickySplitter.Choose(deployments, key)!.Name;
            Assert.Equal(expected, first.Headers.GetValues("x-mlgrid-deployment").Single());

            for (var i = 0; i < 3; i++)
            {
                using var again = await gateway.InferAsync("iris", Body, r => r.Headers.Add("Cookie", $"mlgrid-user={key}"));
                Assert.Equal(expected, again.Headers.GetValues("x-mlgrid-deployment").Single());
                Assert.False(again.Headers.Contains("Set-Cookie"));
            }
        }
    }

    [Fact]
    public async Task A_pinned_request_bypasses_the_split_stickiness_and_the_mirror()
    {
        await using var blue = await FakeReplica.StartAsync("blue-0");
        await using var green = await FakeReplica.StartAsync("green-0");
        await using var gateway = await StartAsync();
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, blue.Url), Deployment("green", 0, green.Url)],
            Sticky: new StickySpec(null, "mlgrid-user"), Mirror: new MirrorSpec("green", 100)));

        using (var pinned = await gateway.InferAsync("iris", "pinned-to-blue", pinned: "blue"))
        {
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
            Assert.Equal("blue", pinned.Headers.GetValues("x-mlgrid-deployment").Single());
            Assert.False(pinned.Headers.Contains("Set-Cookie"));
        }

        using (var toGreen = await gateway.InferAsync("iris", "pinned-to-green", pinned: "green"))
        {
            Assert.Equal("green-0:15", await toGreen.Content.ReadAsStringAsync());
        }

        using (var routed = await gateway.InferAsync("iris", "routed"))
        {
            Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
            Assert.True(routed.Headers.Contains("Set-Cookie"));
        }

        await EventuallyAsync(() => green.Requests.Any(r => r.Body == "routed"), "the routed request is mirrored");
        await Task.Delay(200);
        Assert.DoesNotContain(green.Requests, r => r.Body == "pinned-to-blue");
        Assert.Equal(["pinned-to-blue", "routed"], blue.Requests.Select(r => r.Body).Order(StringComparer.Ordinal));
        Assert.Equal("", Assert.Single(green.Requests, r => r.Body == "pinned-to-green").ShadowHeader);
    }

    [Fact]
    public async Task Stats_need_the_admin_key_and_show_live_and_shadow_per_deployment()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var mirror = await FakeReplica.StartAsync("green-0");
        await using var gateway = await StartAsync();
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url), Deployment("green", 0, mirror.Url)],
            Mirror: new MirrorSpec("green", 100)));
        using (var response = await gateway.InferAsync("iris", Body))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await EventuallyAsync(() => gateway.Service<GatewayStats>().For("iris", "green").Shadow.Requests == 1, "the shadow copy is counted");

        using var anonymous = NewClient(gateway.Address);
        using var refused = await anonymous.GetAsync("/gateway/v1/stats");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);

        using var stats = JsonDocument.Parse(await gateway.Client.GetStringAsync("/gateway/v1/stats"));
        var deployments = stats.RootElement.GetProperty("endpoints").GetProperty("iris").GetProperty("deployments");
        var blueLive = deployments.GetProperty("blue").GetProperty("live");
        Assert.Equal(1, blueLive.GetProperty("requests").GetInt64());
        Assert.Equal(0, blueLive.GetProperty("errors").GetInt64());
        Assert.Equal(0, blueLive.GetProperty("retries").GetInt64());
        Assert.Equal(1, blueLive.GetProperty("statusCodes").GetProperty("200").GetInt64());
        Assert.True(blueLive.GetProperty("latencyMs").GetProperty("p99").GetDouble() > 0);
        var greenShadow = deployments.GetProperty("green").GetProperty("shadow");
        Assert.Equal(1, greenShadow.GetProperty("requests").GetInt64());
        Assert.Equal(0, greenShadow.GetProperty("dropped").GetInt64());
        Assert.Equal(1, greenShadow.GetProperty("statusCodes").GetProperty("200").GetInt64());
        Assert.Equal(0, deployments.GetProperty("green").GetProperty("live").GetProperty("requests").GetInt64());
    }
}

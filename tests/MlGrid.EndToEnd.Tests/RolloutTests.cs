using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

/// <summary>Traffic management at the gateway over the real processes: weighted split, sticky users, pinned variants, shadow traffic, live weight changes.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class RolloutTests(MlGridFixture fixture)
{
    private MlGridApp App => fixture.App;

    private static object Request(float a) =>
        new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = new[] { a, 1f, 2f } } } };

    private static string Deployment(HttpResponseMessage response) => response.Headers.GetValues("x-mlgrid-deployment").Single();

    /// <summary>An endpoint with deployments blue and green (the same linear model) and the given extras.</summary>
    private async Task<string> BlueGreenAsync(int blue, int green, object? sticky = null, object? mirror = null)
    {
        var name = TestNames.Unique("ab");
        await App.UploadModelAsync(name, TestModels.Linear());
        await App.DeployAsync(name, new
        {
            deployments = new[]
            {
                new { name = "blue", model = name, version = 1 },
                new { name = "green", model = name, version = 1 },
            },
            traffic = new Dictionary<string, int> { ["blue"] = blue, ["green"] = green },
            sticky,
            mirror,
        });
        return name;
    }

    private async Task<string> InferDeploymentAsync(string endpoint, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/models/{endpoint}/infer") { Content = JsonContent.Create(Request(1f)) };
        configure?.Invoke(request);
        using var response = await App.Gateway.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return Deployment(response);
    }

    [Fact]
    public async Task Weighted_split_matches_the_weights_within_two_points()
    {
        var name = await BlueGreenAsync(30, 70);
        const int total = 6000;
        var counts = new ConcurrentDictionary<string, int>();
        var next = 0;

        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= total)
            {
                counts.AddOrUpdate(await InferDeploymentAsync(name), 1, (_, n) => n + 1);
            }
        }));

        var blueShare = counts.GetValueOrDefault("blue") / (double)total;
        Assert.Equal(total, counts.Values.Sum());
        Assert.InRange(blueShare, 0.28, 0.32);
    }

    [Fact]
    public async Task Sticky_users_stay_on_one_deployment_and_a_weight_change_moves_only_the_keys_it_must()
    {
        var name = await BlueGreenAsync(50, 50, sticky: new { header = "X-User-Id" });
        var users = Enumerable.Range(0, 300).Select(i => $"user-{i}").ToList();

        async Task<Dictionary<string, string>> PlacementAsync(int rounds)
        {
            var placement = new ConcurrentDictionary<string, string>();
            await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (user, _) =>
            {
                for (var round = 0; round < rounds; round++)
                {
                    var deployment = await InferDeploymentAsync(name, r => r.Headers.Add("X-User-Id", user));
                    var first = placement.GetOrAdd(user, deployment);
                    Assert.True(first == deployment, $"{user} went to {first}, then to {deployment}.");
                }
            });
            return new Dictionary<string, string>(placement);
        }

        var before = await PlacementAsync(rounds: 3);
        Assert.InRange(before.Values.Count(d => d == "blue") / (double)users.Count, 0.38, 0.62);

        await App.PatchTrafficAsync(name, new { blue = 20, green = 80 });
        await Task.Delay(TimeSpan.FromSeconds(1)); // the change reaches the gateway within a second (tested below)
        var after = await PlacementAsync(rounds: 2);

        // Green's share grew: keys only move from blue to green, never back.
        Assert.DoesNotContain(users, u => before[u] == "green" && after[u] == "blue");
        var stayedBlue = users.Count(u => before[u] == "blue" && after[u] == "blue") / (double)before.Values.Count(d => d == "blue");
        Assert.InRange(stayedBlue, 0.2, 0.6); // 20/50 of blue's keys keep blue under weighted rendezvous hashing.
    }

    [Fact]
    public async Task Sticky_cookie_is_issued_when_missing_and_keeps_the_caller_on_its_deployment()
    {
        var name = await BlueGreenAsync(50, 50, sticky: new { cookie = "mlgrid-user" });

        using var first = await App.InferAsync(name, Request(1f));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var cookie = first.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("mlgrid-user=", StringComparison.Ordinal));
        var value = cookie.Split(';')[0];

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(Deployment(first), await InferDeploymentAsync(name, r => r.Headers.Add("Cookie", value)));
        }
    }

    [Fact]
    public async Task Pinned_path_reaches_a_deployment_with_no_traffic()
    {
        var name = await BlueGreenAsync(100, 0);

        for (var i = 0; i < 5; i++)
        {
            using var pinned = await App.Gateway.PostAsJsonAsync($"/v2/models/{name}/versions/green/infer", Request(i));
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
            Assert.Equal("green", Deployment(pinned));
            Assert.Equal("blue", await InferDeploymentAsync(name));
        }

        using var ready = await App.Gateway.GetAsync($"/v2/models/{name}/versions/green/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var metadata = await App.Gateway.GetFromJsonAsync<JsonElement>($"/v2/models/{name}/versions/green");
        Assert.Equal("input", metadata.GetProperty("inputs")[0].GetProperty("name").GetString());
        using var missing = await App.Gateway.PostAsJsonAsync($"/v2/models/{name}/versions/purple/infer", Request(1f));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Weight_change_takes_effect_at_the_gateway_within_a_second()
    {
        var name = await BlueGreenAsync(100, 0);
        Assert.Equal("blue", await InferDeploymentAsync(name));

        var view = await App.PatchTrafficAsync(name, new { blue = 0, green = 100 });
        var acknowledged = Stopwatch.StartNew();
        Assert.Equal(100, view.GetProperty("deployments").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "green").GetProperty("weight").GetInt32());

        while (await InferDeploymentAsync(name) != "green")
        {
            Assert.True(acknowledged.Elapsed < TimeSpan.FromSeconds(1), "The gateway still routed to blue one second after the change was acknowledged.");
        }

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal("green", await InferDeploymentAsync(name));
        }
    }

    [Fact]
    public async Task Bad_traffic_changes_are_refused_with_problem_details_and_change_nothing()
    {
        var name = await BlueGreenAsync(100, 0);
        var before = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/endpoints/{name}");

        foreach (var body in new object[]
        {
            new { blue = 50 },
            new { purple = 100, blue = 0 },
            new { blue = "all" },
            new { mirror = new { deployment = "purple", percent = 10 } },
            new { mirror = new { percent = 10 } },
            new { traffic = new { blue = 0, green = 100 }, mirorr = new { deployment = "green", percent = 10 } },
            new { traffic = new { blue = 0, green = 100 }, mirror = 5 },
            new { },
        })
        {
            using var response = await App.Gateway.PatchAsJsonAsync($"/api/v1/endpoints/{name}/traffic", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        }

        using var unknown = await App.Gateway.PatchAsJsonAsync($"/api/v1/endpoints/{TestNames.Unique("none")}/traffic", new { blue = 100 });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        var after = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/endpoints/{name}");
        Assert.Equal(before.GetProperty("generation").GetInt64(), after.GetProperty("generation").GetInt64());
        Assert.Equal("blue", await InferDeploymentAsync(name));
    }

    [Fact]
    public async Task Mirrored_copies_never_reach_the_caller_and_are_counted_apart_from_live_traffic()
    {
        // The shadow deployment serves a model with other inputs: every mirrored copy fails there.
        var name = TestNames.Unique("mirror");
        var shadowModel = TestNames.Unique("relu");
        await App.UploadModelAsync(name, TestModels.Linear());
        await App.UploadModelAsync(shadowModel, TestModels.FixedShapeRelu());
        await App.DeployAsync(name, new
        {
            deployments = new[]
            {
                new { name = "live", model = name, version = 1 },
                new { name = "shadow", model = shadowModel, version = 1 },
            },
            traffic = new Dictionary<string, int> { ["live"] = 100, ["shadow"] = 0 },
            mirror = new { deployment = "shadow", percent = 100 },
        });

        const int requests = 40;
        for (var i = 0; i < requests; i++)
        {
            using var response = await App.InferAsync(name, Request(i));
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            Assert.Equal("live", Deployment(response));
        }

        JsonElement shadow = default;
        await App.WaitUntilAsync(async () =>
        {
            var stats = await App.Gateway.GetFromJsonAsync<JsonElement>("/gateway/v1/stats");
            var deployments = stats.GetProperty("endpoints").GetProperty(name).GetProperty("deployments");
            shadow = deployments.GetProperty("shadow").GetProperty("shadow");
            var live = deployments.GetProperty("live").GetProperty("live");
            Assert.Equal(requests, live.GetProperty("requests").GetInt32());
            Assert.Equal(0, live.GetProperty("errors").GetInt32());
            Assert.Equal(0, deployments.GetProperty("shadow").GetProperty("live").GetProperty("requests").GetInt32());
            Assert.Equal(0, deployments.GetProperty("live").GetProperty("shadow").GetProperty("requests").GetInt32());
            return shadow.GetProperty("requests").GetInt32() + shadow.GetProperty("dropped").GetInt32() == requests;
        }, TimeSpan.FromSeconds(20), () => $"Shadow statistics never added up to {requests}: {shadow}");

        Assert.True(shadow.GetProperty("requests").GetInt32() > 0);
        Assert.Equal(shadow.GetProperty("requests").GetInt32(), shadow.GetProperty("statusCodes").GetProperty("400").GetInt32());

        // Mirroring stops once the change reaches the gateway, which takes under a second.
        await App.PatchTrafficAsync(name, new { mirror = (object?)null });
        await Task.Delay(TimeSpan.FromSeconds(1));
        var settled = await App.Gateway.GetFromJsonAsync<JsonElement>("/gateway/v1/stats");
        shadow = settled.GetProperty("endpoints").GetProperty(name).GetProperty("deployments").GetProperty("shadow").GetProperty("shadow");
        var before = shadow.GetProperty("requests").GetInt32();
        for (var i = 0; i < 10; i++)
        {
            using var response = await App.InferAsync(name, Request(i));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        var after = await App.Gateway.GetFromJsonAsync<JsonElement>("/gateway/v1/stats");
        Assert.Equal(before, after.GetProperty("endpoints").GetProperty(name).GetProperty("deployments").GetProperty("shadow").GetProperty("shadow").GetProperty("requests").GetInt32());
    }

    [Fact]
    public async Task Workers_publish_their_capacity()
    {
        var workers = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/workers");

        Assert.Equal(2, workers.GetArrayLength());
        foreach (var worker in workers.EnumerateArray())
        {
            Assert.True(worker.GetProperty("cpuCores").GetInt32() >= 1);
            Assert.True(worker.GetProperty("memoryBytes").GetInt64() > 0);
            Assert.False(worker.GetProperty("hasGpu").GetBoolean());
            Assert.StartsWith("http://", worker.GetProperty("inferenceUrl").GetString(), StringComparison.Ordinal);
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.Testing;
using Aspire.Hosting.ApplicationModel;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

/// <summary>Failures of whole processes, each on its own MlGrid: the control plane going away, a worker killed under load.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ResilienceTests
{
    private const string AdminKey = "resilience-admin-key-0123456789";

    private static object Request(float a) =>
        new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = new[] { a, 1f, 2f } } } };

    private static async Task<string> DeployAsync(MlGridApp app, int replicas, int green = 0)
    {
        var name = TestNames.Unique("res");
        await app.UploadModelAsync(name, TestModels.Linear());
        await app.DeployAsync(name, new
        {
            deployments = new[]
            {
                new { name = "blue", model = name, version = 1, replicas },
                new { name = "green", model = name, version = 1, replicas = 1 },
            },
            traffic = new Dictionary<string, int> { ["blue"] = 100 - green, ["green"] = green },
        });
        return name;
    }

    [Fact]
    public async Task Gateway_serves_from_its_last_routing_table_while_the_control_plane_is_down_and_catches_up_after()
    {
        await using var app = await MlGridApp.StartAsync(MlGridApp.NewDataDirectory(), AdminKey);
        var name = await DeployAsync(app, replicas: 2);

        // Killed, not stopped: nothing gets a chance to say goodbye.
        var controlPlane = Process.GetProcessById(MlGridApp.ProcessListeningOn(app.App.GetEndpoint("controlplane", "http").Port));
        controlPlane.Kill(entireProcessTree: true);
        await controlPlane.WaitForExitAsync();
        await app.WaitUntilAsync(async () =>
        {
            using var api = await app.Gateway.GetAsync($"/api/v1/endpoints/{name}");
            return api.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable;
        }, TimeSpan.FromSeconds(60), () => "The management API still answered after the control plane was stopped.");

        // Ten seconds without a control plane: every request is still served, by the deployment the table names.
        var outage = Stopwatch.StartNew();
        var served = 0;
        while (outage.Elapsed < TimeSpan.FromSeconds(10))
        {
            using var response = await app.InferAsync(name, Request(served));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"Request {served} during the outage: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("blue", response.Headers.GetValues("x-mlgrid-deployment").Single());
            served++;
            await Task.Delay(50);
        }

        using (var ready = await app.Gateway.GetAsync($"/v2/models/{name}/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        await app.ExecuteCommandAsync("controlplane", KnownResourceCommands.StartCommand);
        await app.WaitUntilAsync(async () => (await app.Gateway.GetAsync($"/api/v1/endpoints/{name}")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(90), () => "The management API did not come back.");

        // The gateway follows the routing table again: a traffic change made after the return reaches it.
        await app.PatchTrafficAsync(name, new { blue = 0, green = 100 });
        await app.WaitUntilAsync(async () =>
        {
            using var response = await app.InferAsync(name, Request(1f));
            return response.StatusCode == HttpStatusCode.OK && response.Headers.GetValues("x-mlgrid-deployment").Single() == "green";
        }, TimeSpan.FromSeconds(30), () => "The gateway did not pick up a traffic change made after the control plane returned.");
    }

    [Fact]
    public async Task Killing_a_worker_under_load_costs_at_most_the_requests_in_flight_and_its_replica_is_replaced()
    {
        await using var app = await MlGridApp.StartAsync(MlGridApp.NewDataDirectory(), AdminKey);
        var name = await DeployAsync(app, replicas: 2);
        var view = await app.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/endpoints/{name}");
        var blue = view.GetProperty("deployments").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "blue");
        var urls = blue.GetProperty("replicaStatus").EnumerateArray().Select(r => new Uri(r.GetProperty("url").GetString()!)).ToList();
        Assert.Equal(2, urls.Select(u => u.Port).Distinct().Count());
        var victimPort = urls[0].Port;
        var victim = Process.GetProcessById(MlGridApp.ProcessListeningOn(victimPort));

        const int concurrency = 8;
        var results = new ConcurrentQueue<(TimeSpan At, HttpStatusCode Status)>();
        var clock = Stopwatch.StartNew();
        var killedAt = TimeSpan.Zero;
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, concurrency).Select(async i =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpStatusCode status;
                try
                {
                    using var response = await app.InferAsync(name, Request(i));
                    status = response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    status = 0;
                }

                results.Enqueue((clock.Elapsed, status));
            }
        }).ToList();

        await Task.Delay(TimeSpan.FromSeconds(3));
        killedAt = clock.Elapsed;
        victim.Kill(entireProcessTree: true);
        await Task.Delay(TimeSpan.FromSeconds(12));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var failures = results.Where(r => r.Status != HttpStatusCode.OK).ToList();
        Assert.True(results.Count(r => r.At < killedAt) > 50, "Too little load before the kill to show anything.");
        Assert.True(failures.Count <= concurrency,
            $"{failures.Count} requests failed (more than the {concurrency} that can be in flight): {string.Join(", ", failures.Take(20).Select(f => $"{(int)f.Status}@{f.At.TotalSeconds:F1}s"))}");
        Assert.All(failures, f => Assert.True(f.At < killedAt + TimeSpan.FromSeconds(2), $"A request failed {(f.At - killedAt).TotalSeconds:F1}s after the kill."));
        Assert.True(results.Count(r => r.At > killedAt + TimeSpan.FromSeconds(5) && r.Status == HttpStatusCode.OK) > 50, "Too few requests served after the kill.");

        // The endpoint notices the lost worker and places a replacement on the survivor.
        await app.WaitUntilAsync(async () =>
        {
            var current = await app.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/endpoints/{name}");
            var replicas = current.GetProperty("deployments").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "blue")
                .GetProperty("replicaStatus").EnumerateArray().ToList();
            return replicas.Count == 2
                && replicas.All(r => r.GetProperty("status").GetString() == "Ready" && new Uri(r.GetProperty("url").GetString()!).Port != victimPort);
        }, TimeSpan.FromSeconds(120), () => "The lost replica was not replaced on the surviving worker.");
    }
}

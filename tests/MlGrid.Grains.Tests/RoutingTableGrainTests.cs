using MlGrid.Contracts;

namespace MlGrid.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RoutingTableGrainTests(ClusterFixture fixture)
{
    private static readonly TimeSpan NotificationTimeout = TimeSpan.FromSeconds(15);

    private readonly IClusterClient _client = fixture.Client;

    private IRoutingTableGrain Table => _client.GetGrain<IRoutingTableGrain>(IRoutingTableGrain.Key);

    [Fact]
    public async Task Apply_publishes_route_with_weights_and_no_ready_replicas()
    {
        var model = await TestData.RegisterModelAsync(_client, versions: 2);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));
        var before = await Table.Get();

        await endpoint.Apply(TestData.Spec(
            new Dictionary<string, int> { ["blue"] = 80, ["green"] = 20 },
            TestData.Deployment(model, "blue", "1", replicas: 2),
            TestData.Deployment(model, "green", "2")));

        var table = await Table.Get();
        Assert.True(table.Version > before.Version);
        var route = table.Endpoints[endpoint.GetPrimaryKeyString()];
        Assert.Equal(endpoint.GetPrimaryKeyString(), route.Name);
        Assert.Equal(1, route.Generation);
        Assert.Equal(
            [("blue", model, 1, 80), ("green", model, 2, 20)],
            route.Deployments.Select(d => (d.Name, d.Model, d.ModelVersion, d.Weight)));
        Assert.All(route.Deployments, d =>
        {
            Assert.Empty(d.ReplicaUrls);
            Assert.Equal("output", Assert.Single(d.Signature.Outputs).Name);
        });
    }

    [Fact]
    public async Task Reapply_publishes_the_new_generation()
    {
        var model = await TestData.RegisterModelAsync(_client, versions: 2);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));
        await endpoint.Apply(TestData.Spec(TestData.Deployment(model, version: "1")));
        var before = await Table.Get();

        await endpoint.Apply(TestData.Spec(TestData.Deployment(model, version: "2")));

        var table = await Table.Get();
        Assert.True(table.Version > before.Version);
        var route = table.Endpoints[endpoint.GetPrimaryKeyString()];
        Assert.Equal(2, route.Generation);
        Assert.Equal(2, Assert.Single(route.Deployments).ModelVersion);
    }

    [Fact]
    public async Task Apply_publishes_the_rate_limit_in_the_route()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));

        var view = await endpoint.Apply(TestData.Spec(TestData.Deployment(model)) with { RateLimit = new RateLimitSpec(50) });

        Assert.Equal(new RateLimitSpec(50), view.Spec.RateLimit);
        var route = (await Table.Get()).Endpoints[endpoint.GetPrimaryKeyString()];
        Assert.Equal(new RateLimitSpec(50), route.RateLimit);
    }

    [Fact]
    public async Task Observer_hears_of_an_applied_endpoint()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));
        var name = endpoint.GetPrimaryKeyString();
        var before = await Table.Get();
        var observer = new RecordingObserver(t => t.Version > before.Version && t.Endpoints.ContainsKey(name));
        var reference = _client.CreateObjectReference<IRoutingObserver>(observer);
        await Table.Subscribe(reference);
        try
        {
            await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));

            var table = await observer.Matched.WaitAsync(NotificationTimeout);

            Assert.True(table.Version > before.Version);
            Assert.Equal(100, Assert.Single(table.Endpoints[name].Deployments).Weight);
        }
        finally
        {
            await Table.Unsubscribe(reference);
            _client.DeleteObjectReference<IRoutingObserver>(reference);
        }
    }

    [Fact]
    public async Task Observer_hears_of_a_deleted_endpoint()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));
        var name = endpoint.GetPrimaryKeyString();
        await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));
        var before = await Table.Get();
        var observer = new RecordingObserver(t => t.Version > before.Version && !t.Endpoints.ContainsKey(name));
        var reference = _client.CreateObjectReference<IRoutingObserver>(observer);
        await Table.Subscribe(reference);
        try
        {
            await endpoint.Delete();

            var table = await observer.Matched.WaitAsync(NotificationTimeout);

            Assert.DoesNotContain(name, table.Endpoints.Keys);
        }
        finally
        {
            await Table.Unsubscribe(reference);
            _client.DeleteObjectReference<IRoutingObserver>(reference);
        }
    }

    [Fact]
    public async Task Publish_of_an_unchanged_route_keeps_the_version()
    {
        var route = new EndpointRoute(TestData.UniqueName("endpoint"), 1,
            [new DeploymentRoute("main", "model", 1, 100, TestData.Signature, ["http://worker/replicas/a"])]);
        await Table.Publish(route);
        var before = await Table.Get();

        await Table.Publish(route with { Deployments = [.. route.Deployments] });

        var after = await Table.Get();
        Assert.Equal(before.Version, after.Version);
        await Table.Remove(route.Name);
    }

    [Fact]
    public async Task Publish_of_a_route_with_new_replicas_increments_the_version()
    {
        var route = new EndpointRoute(TestData.UniqueName("endpoint"), 1,
            [new DeploymentRoute("main", "model", 1, 100, TestData.Signature, [])]);
        await Table.Publish(route);
        var before = await Table.Get();

        await Table.Publish(route with
        {
            Deployments = [route.Deployments[0] with { ReplicaUrls = ["http://worker/replicas/a"] }],
        });

        var after = await Table.Get();
        Assert.True(after.Version > before.Version);
        Assert.Equal(["http://worker/replicas/a"], Assert.Single(after.Endpoints[route.Name].Deployments).ReplicaUrls);
        await Table.Remove(route.Name);
    }

    [Fact]
    public async Task Remove_of_an_unknown_endpoint_keeps_the_version()
    {
        var before = await Table.Get();

        await Table.Remove(TestData.UniqueName("endpoint"));

        Assert.Equal(before.Version, (await Table.Get()).Version);
    }

    /// <summary>Completes <see cref="Matched"/> with the first table that meets the condition; other notifications are ignored.</summary>
    private sealed class RecordingObserver(Func<RoutingTable, bool> condition) : IRoutingObserver
    {
        private readonly TaskCompletionSource<RoutingTable> _matched = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<RoutingTable> Matched => _matched.Task;

        public void OnRoutingChanged(RoutingTable table)
        {
            if (condition(table))
            {
                _matched.TrySetResult(table);
            }
        }
    }
}

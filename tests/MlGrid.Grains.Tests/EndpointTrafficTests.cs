using MlGrid.Contracts;

namespace MlGrid.Grains.Tests;

/// <summary>Traffic changes, sticky keys, mirrors and batching settings on the endpoint grain.</summary>
[Collection(ClusterCollection.Name)]
public sealed class EndpointTrafficTests(ClusterFixture fixture)
{
    private readonly IClusterClient _client = fixture.Client;

    private static readonly Dictionary<string, int> BlueOnly = new() { ["blue"] = 100, ["green"] = 0 };

    private async Task<(IEndpointGrain Endpoint, EndpointView View)> BlueGreenAsync(StickySpec? sticky = null, MirrorSpec? mirror = null)
    {
        var model = await TestData.RegisterModelAsync(_client, versions: 2);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));
        var spec = new EndpointSpec(
            [TestData.Deployment(model, "blue", "1"), TestData.Deployment(model, "green", "2")],
            BlueOnly,
            sticky,
            mirror);
        return (endpoint, await endpoint.Apply(spec));
    }

    private async Task<EndpointRoute> RouteAsync(IEndpointGrain endpoint) =>
        (await _client.GetGrain<IRoutingTableGrain>(IRoutingTableGrain.Key).Get()).Endpoints[endpoint.GetPrimaryKeyString()];

    private static Dictionary<string, int> Weights(EndpointView view) => view.Deployments.ToDictionary(d => d.Name, d => d.Weight);

    [Fact]
    public async Task SetTraffic_changes_weights_and_publishes_a_new_routing_version_without_moving_replicas()
    {
        var (endpoint, before) = await BlueGreenAsync();
        var tableBefore = await _client.GetGrain<IRoutingTableGrain>(IRoutingTableGrain.Key).Get();

        var after = await endpoint.SetTraffic(new TrafficChange(new Dictionary<string, int> { ["blue"] = 0, ["green"] = 100 }, false, null));

        Assert.Equal(new Dictionary<string, int> { ["blue"] = 0, ["green"] = 100 }, Weights(after));
        Assert.Equal(before.Generation + 1, after.Generation);
        Assert.Equal(
            before.Deployments.SelectMany(d => d.ReplicaStatus.Select(r => r.Id)),
            after.Deployments.SelectMany(d => d.ReplicaStatus.Select(r => r.Id)));

        var table = await _client.GetGrain<IRoutingTableGrain>(IRoutingTableGrain.Key).Get();
        Assert.True(table.Version > tableBefore.Version);
        var route = table.Endpoints[endpoint.GetPrimaryKeyString()];
        Assert.Equal(after.Generation, route.Generation);
        Assert.Equal(0, route.Deployments.Single(d => d.Name == "blue").Weight);
        Assert.Equal(100, route.Deployments.Single(d => d.Name == "green").Weight);
        Assert.Equal(new Dictionary<string, int> { ["blue"] = 0, ["green"] = 100 }, Weights((await endpoint.Get())!));
    }

    [Fact]
    public async Task SetTraffic_keeps_the_weights_of_deployments_it_does_not_name()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));
        await endpoint.Apply(TestData.Spec(
            new Dictionary<string, int> { ["a"] = 50, ["b"] = 30, ["c"] = 20 },
            TestData.Deployment(model, "a"), TestData.Deployment(model, "b"), TestData.Deployment(model, "c")));

        var view = await endpoint.SetTraffic(new TrafficChange(new Dictionary<string, int> { ["a"] = 40, ["b"] = 40 }, false, null));

        Assert.Equal(new Dictionary<string, int> { ["a"] = 40, ["b"] = 40, ["c"] = 20 }, Weights(view));
    }

    [Theory]
    [InlineData("blue", 50, "sum to 50")]
    [InlineData("purple", 0, "'purple'")]
    [InlineData("green", 101, "outside 0 to 100")]
    public async Task SetTraffic_refuses_bad_weights_and_changes_nothing(string deployment, int weight, string expected)
    {
        var (endpoint, before) = await BlueGreenAsync();

        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid,
            () => endpoint.SetTraffic(new TrafficChange(new Dictionary<string, int> { [deployment] = weight }, false, null)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        var after = (await endpoint.Get())!;
        Assert.Equal(before.Generation, after.Generation);
        Assert.Equal(Weights(before), Weights(after));
    }

    [Fact]
    public async Task SetTraffic_sets_and_clears_the_mirror()
    {
        var (endpoint, _) = await BlueGreenAsync();

        var mirrored = await endpoint.SetTraffic(new TrafficChange(new Dictionary<string, int>(), true, new MirrorSpec("green", 10)));
        Assert.Equal(new MirrorSpec("green", 10), mirrored.Spec.Mirror);
        Assert.Equal(new MirrorSpec("green", 10), (await RouteAsync(endpoint)).Mirror);

        var weightsOnly = await endpoint.SetTraffic(new TrafficChange(new Dictionary<string, int> { ["blue"] = 90, ["green"] = 10 }, false, null));
        Assert.Equal(new MirrorSpec("green", 10), weightsOnly.Spec.Mirror);

        var cleared = await endpoint.SetTraffic(new TrafficChange(new Dictionary<string, int>(), true, null));
        Assert.Null(cleared.Spec.Mirror);
        Assert.Null((await RouteAsync(endpoint)).Mirror);
    }

    [Fact]
    public async Task SetTraffic_refuses_a_mirror_to_an_unknown_deployment()
    {
        var (endpoint, _) = await BlueGreenAsync();

        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid,
            () => endpoint.SetTraffic(new TrafficChange(new Dictionary<string, int>(), true, new MirrorSpec("purple", 10))));

        Assert.Contains("'purple'", error.Message, StringComparison.Ordinal);
        Assert.Null((await endpoint.Get())!.Spec.Mirror);
    }

    [Fact]
    public async Task SetTraffic_on_a_missing_endpoint_is_not_found()
    {
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));

        await TestData.RefusedAsync(RequestErrorKind.NotFound,
            () => endpoint.SetTraffic(new TrafficChange(new Dictionary<string, int> { ["main"] = 100 }, false, null)));
        Assert.Null(await endpoint.Get());
    }

    [Fact]
    public async Task Sticky_and_mirror_reach_the_routing_table()
    {
        var (endpoint, view) = await BlueGreenAsync(new StickySpec("X-User-Id", null), new MirrorSpec("green", 25));

        var route = await RouteAsync(endpoint);

        Assert.Equal(new StickySpec("X-User-Id", null), route.Sticky);
        Assert.Equal(new MirrorSpec("green", 25), route.Mirror);
        Assert.Equal(route.Sticky, view.Spec.Sticky);
    }

    [Theory]
    [InlineData("X-User-Id", "session")]
    [InlineData(null, null)]
    [InlineData("", "")]
    [InlineData("X User", null)]
    [InlineData(null, "a;b")]
    public async Task Apply_refuses_sticky_without_exactly_one_valid_header_or_cookie(string? header, string? cookie)
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));

        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid,
            () => endpoint.Apply(new EndpointSpec([TestData.Deployment(model)], new Dictionary<string, int>(), new StickySpec(header, cookie))));

        Assert.Contains("ticky", error.Message, StringComparison.Ordinal);
        Assert.Null(await endpoint.Get());
    }

    [Theory]
    [InlineData(0, 2, "maxBatchSize 0")]
    [InlineData(2000, 2, "maxBatchSize 2000")]
    [InlineData(8, -1, "maxDelayMs -1")]
    [InlineData(8, 5000, "maxDelayMs 5000")]
    public async Task Apply_refuses_batching_out_of_range(int size, int delay, string expected)
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));

        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid,
            () => endpoint.Apply(TestData.Spec(TestData.Deployment(model) with { Batching = new BatchingSpec(size, delay) })));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Null(await endpoint.Get());
    }

    [Fact]
    public async Task Changing_batching_rolls_out_new_replicas_and_shows_the_setting()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));
        var plain = await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));

        var batched = await endpoint.Apply(TestData.Spec(TestData.Deployment(model) with { Batching = new BatchingSpec(32, 2) }));

        Assert.Equal(new BatchingSpec(32, 2), batched.Deployments[0].Batching);
        Assert.NotEqual(plain.Deployments[0].ReplicaStatus[0].Id, batched.Deployments[0].ReplicaStatus[0].Id);
        Assert.Null(plain.Deployments[0].Batching);
    }

    [Fact]
    public async Task Mirror_must_name_a_declared_deployment_and_a_percent_from_0_to_100()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));

        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid,
            () => endpoint.Apply(new EndpointSpec([TestData.Deployment(model)], new Dictionary<string, int>(), null, new MirrorSpec("main", 150))));

        Assert.Contains("150", error.Message, StringComparison.Ordinal);
    }
}

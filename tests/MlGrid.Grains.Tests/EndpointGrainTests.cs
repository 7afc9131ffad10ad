using MlGrid.Contracts;

namespace MlGrid.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class EndpointGrainTests(ClusterFixture fixture)
{
    private readonly IClusterClient _client = fixture.Client;

    private IEndpointGrain NewEndpoint() => _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));

    private Task<IReadOnlyList<string>> EndpointCatalog() => _client.GetGrain<IEndpointCatalogGrain>(IEndpointCatalogGrain.Key).List();

    private Task<RoutingTable> RoutingTable() => _client.GetGrain<IRoutingTableGrain>(IRoutingTableGrain.Key).Get();

    private async Task<string> RefusedAsync(IEndpointGrain endpoint, EndpointSpec spec)
    {
        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid, () => endpoint.Apply(spec));
        Assert.Null(await endpoint.Get());
        Assert.DoesNotContain(endpoint.GetPrimaryKeyString(), await EndpointCatalog());
        return error.Message;
    }

    [Fact]
    public async Task Apply_refuses_spec_without_deployments()
    {
        var message = await RefusedAsync(NewEndpoint(), TestData.Spec());

        Assert.Contains("at least one deployment", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_refuses_duplicate_deployment_names()
    {
        var model = await TestData.RegisterModelAsync(_client);

        var message = await RefusedAsync(NewEndpoint(), TestData.Spec(
            new Dictionary<string, int> { ["main"] = 100 },
            TestData.Deployment(model, "main"),
            TestData.Deployment(model, "main")));

        Assert.Contains("'main'", message, StringComparison.Ordinal);
        Assert.Contains("more than once", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_refuses_a_model_version_without_an_onnx_file()
    {
        var model = TestData.UniqueName("model");
        await _client.GetGrain<IModelGrain>(model).AddVersion(new NewModelVersion(null, 0, null, "s3://bucket/model", StatusMessage: "kept as a reference"));
        var endpoint = _client.GetGrain<IEndpointGrain>(TestData.UniqueName("endpoint"));

        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid, () => endpoint.Apply(TestData.Spec(TestData.Deployment(model))));

        Assert.Contains("no ONNX file", error.Message, StringComparison.Ordinal);
        Assert.Contains("kept as a reference", error.Message, StringComparison.Ordinal);
        Assert.Null(await endpoint.Get());
    }

    [Fact]
    public async Task Apply_refuses_unknown_model()
    {
        var missing = TestData.UniqueName("missing");

        var message = await RefusedAsync(NewEndpoint(), TestData.Spec(TestData.Deployment(missing)));

        Assert.Contains($"'{missing}'", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("champion")]
    public async Task Apply_refuses_unknown_version_or_alias(string version)
    {
        var model = await TestData.RegisterModelAsync(_client);

        var message = await RefusedAsync(NewEndpoint(), TestData.Spec(TestData.Deployment(model, version: version)));

        Assert.Contains($"'{version}'", message, StringComparison.Ordinal);
        Assert.Contains($"'{model}'", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    [InlineData(-1)]
    public async Task Apply_refuses_replicas_outside_1_to_16(int replicas)
    {
        var model = await TestData.RegisterModelAsync(_client);

        var message = await RefusedAsync(NewEndpoint(), TestData.Spec(TestData.Deployment(model, replicas: replicas)));

        Assert.Contains($"{replicas} replicas", message, StringComparison.Ordinal);
        Assert.Contains("1 to 16", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tpu")]
    [InlineData("GPU")]
    [InlineData("")]
    public async Task Apply_refuses_unknown_device(string device)
    {
        var model = await TestData.RegisterModelAsync(_client);

        var message = await RefusedAsync(NewEndpoint(), TestData.Spec(TestData.Deployment(model, device: device)));

        Assert.Contains($"device '{device}'", message, StringComparison.Ordinal);
        Assert.Contains("'auto', 'cpu' or 'gpu'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_refuses_weights_not_summing_to_100()
    {
        var model = await TestData.RegisterModelAsync(_client, versions: 2);

        var message = await RefusedAsync(NewEndpoint(), TestData.Spec(
            new Dictionary<string, int> { ["blue"] = 60, ["green"] = 30 },
            TestData.Deployment(model, "blue", "1"),
            TestData.Deployment(model, "green", "2")));

        Assert.Contains("sum to 90", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_refuses_several_deployments_without_traffic()
    {
        var model = await TestData.RegisterModelAsync(_client, versions: 2);

        var message = await RefusedAsync(NewEndpoint(), TestData.Spec(
            TestData.Deployment(model, "blue", "1"),
            TestData.Deployment(model, "green", "2")));

        Assert.Contains("must sum to 100", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_refuses_weight_out_of_range()
    {
        var model = await TestData.RegisterModelAsync(_client, versions: 2);

        var message = await RefusedAsync(NewEndpoint(), TestData.Spec(
            new Dictionary<string, int> { ["blue"] = 120, ["green"] = -20 },
            TestData.Deployment(model, "blue", "1"),
            TestData.Deployment(model, "green", "2")));

        Assert.Contains("outside 0 to 100", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_refuses_traffic_naming_unknown_deployment()
    {
        var model = await TestData.RegisterModelAsync(_client);

        var message = await RefusedAsync(NewEndpoint(), TestData.Spec(
            new Dictionary<string, int> { ["main"] = 50, ["ghost"] = 50 },
            TestData.Deployment(model, "main")));

        Assert.Contains("'ghost'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_refuses_invalid_endpoint_name()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = _client.GetGrain<IEndpointGrain>("-bad name");

        var message = await RefusedAsync(endpoint, TestData.Spec(TestData.Deployment(model)));

        Assert.Contains("endpoint name", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_stores_valid_spec_as_generation_one_pending_without_workers()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = NewEndpoint();

        var view = await endpoint.Apply(TestData.Spec(TestData.Deployment(model, replicas: 2)));

        Assert.Equal(endpoint.GetPrimaryKeyString(), view.Name);
        Assert.Equal(1, view.Generation);
        Assert.Equal(view.CreatedAt, view.UpdatedAt);
        var deployment = Assert.Single(view.Deployments);
        Assert.Equal("main", deployment.Name);
        Assert.Equal(model, deployment.Model);
        Assert.Equal(1, deployment.ModelVersion);
        Assert.Equal(2, deployment.Replicas);
        Assert.Equal(Devices.Auto, deployment.Device);
        Assert.Equal(DeploymentStatus.Pending, deployment.Status);
        Assert.Contains("no worker", deployment.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, deployment.ReplicaStatus.Count);
        Assert.All(deployment.ReplicaStatus, r =>
        {
            Assert.Equal(DeploymentStatus.Pending, r.Status);
            Assert.Equal("", r.Worker);
        });
        Assert.Equal(2, deployment.ReplicaStatus.Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public async Task Apply_with_traffic_omitted_sends_all_traffic_to_the_single_deployment()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = NewEndpoint();

        await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));

        var route = (await RoutingTable()).Endpoints[endpoint.GetPrimaryKeyString()];
        Assert.Equal(100, Assert.Single(route.Deployments).Weight);
    }

    [Fact]
    public async Task Apply_for_gpu_says_it_waits_for_a_gpu_worker()
    {
        var model = await TestData.RegisterModelAsync(_client);

        var view = await NewEndpoint().Apply(TestData.Spec(TestData.Deployment(model, device: Devices.Gpu)));

        var deployment = Assert.Single(view.Deployments);
        Assert.Equal(DeploymentStatus.Pending, deployment.Status);
        Assert.Contains("GPU", deployment.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_returns_what_apply_returned()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = NewEndpoint();
        var applied = await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));

        var view = await endpoint.Get();

        Assert.NotNull(view);
        Assert.Equal(applied.Generation, view.Generation);
        Assert.Equal(applied.CreatedAt, view.CreatedAt);
        Assert.Equal(applied.Deployments.Select(d => (d.Name, d.ModelVersion, d.Status)), view.Deployments.Select(d => (d.Name, d.ModelVersion, d.Status)));
    }

    [Fact]
    public async Task Get_of_unknown_endpoint_is_null()
    {
        Assert.Null(await NewEndpoint().Get());
    }

    [Fact]
    public async Task Apply_lists_endpoint_in_catalog()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = NewEndpoint();

        await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));

        Assert.Contains(endpoint.GetPrimaryKeyString(), await EndpointCatalog());
    }

    [Fact]
    public async Task Reapply_increments_generation_and_keeps_creation_time()
    {
        var model = await TestData.RegisterModelAsync(_client, versions: 2);
        var endpoint = NewEndpoint();
        var first = await endpoint.Apply(TestData.Spec(TestData.Deployment(model, version: "1")));

        var second = await endpoint.Apply(TestData.Spec(TestData.Deployment(model, version: "2")));

        Assert.Equal(2, second.Generation);
        Assert.Equal(first.CreatedAt, second.CreatedAt);
        Assert.True(second.UpdatedAt >= first.UpdatedAt);
        Assert.Equal(2, Assert.Single(second.Deployments).ModelVersion);
    }

    [Fact]
    public async Task Refused_reapply_keeps_the_previous_spec()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = NewEndpoint();
        await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));

        await TestData.RefusedAsync(RequestErrorKind.Invalid, () => endpoint.Apply(TestData.Spec(TestData.Deployment(model, version: "9"))));

        var view = await endpoint.Get();
        Assert.NotNull(view);
        Assert.Equal(1, view.Generation);
        Assert.Equal(1, Assert.Single(view.Deployments).ModelVersion);
    }

    [Fact]
    public async Task Apply_resolves_alias_to_the_version_it_points_at()
    {
        var model = await TestData.RegisterModelAsync(_client, versions: 3);
        await _client.GetGrain<IModelGrain>(model).SetAlias("champion", 2);

        var view = await NewEndpoint().Apply(TestData.Spec(TestData.Deployment(model, version: "champion")));

        var deployment = Assert.Single(view.Deployments);
        Assert.Equal(2, deployment.ModelVersion);
        Assert.Equal("champion", Assert.Single(view.Spec.Deployments).Version);
    }

    [Fact]
    public async Task Moving_an_alias_does_not_change_an_applied_endpoint()
    {
        var model = await TestData.RegisterModelAsync(_client, versions: 2);
        var modelGrain = _client.GetGrain<IModelGrain>(model);
        await modelGrain.SetAlias("champion", 1);
        var endpoint = NewEndpoint();
        await endpoint.Apply(TestData.Spec(TestData.Deployment(model, version: "champion")));

        await modelGrain.SetAlias("champion", 2);

        var view = await endpoint.Get();
        Assert.NotNull(view);
        Assert.Equal(1, Assert.Single(view.Deployments).ModelVersion);
    }

    [Fact]
    public async Task Delete_removes_endpoint_from_grain_catalog_and_routing_table()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = NewEndpoint();
        var name = endpoint.GetPrimaryKeyString();
        await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));
        Assert.Contains(name, (await RoutingTable()).Endpoints.Keys);

        Assert.True(await endpoint.Delete());

        Assert.Null(await endpoint.Get());
        Assert.False(await endpoint.Delete());
        Assert.DoesNotContain(name, await EndpointCatalog());
        Assert.DoesNotContain(name, (await RoutingTable()).Endpoints.Keys);
    }

    [Fact]
    public async Task Delete_of_unknown_endpoint_is_false()
    {
        Assert.False(await NewEndpoint().Delete());
    }

    [Fact]
    public async Task Apply_after_delete_creates_the_endpoint_again()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = NewEndpoint();
        await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));
        await endpoint.Delete();

        var view = await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));

        Assert.Equal(1, view.Generation);
        Assert.Equal(DeploymentStatus.Pending, Assert.Single(view.Deployments).Status);
        Assert.Contains(endpoint.GetPrimaryKeyString(), await EndpointCatalog());
        Assert.Contains(endpoint.GetPrimaryKeyString(), (await RoutingTable()).Endpoints.Keys);
    }

    [Fact]
    public async Task Resume_of_unknown_endpoint_does_nothing()
    {
        var endpoint = NewEndpoint();

        await endpoint.Resume();

        Assert.Null(await endpoint.Get());
        Assert.DoesNotContain(endpoint.GetPrimaryKeyString(), (await RoutingTable()).Endpoints.Keys);
    }

    [Fact]
    public async Task ReportReplica_for_unknown_replica_is_ignored()
    {
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = NewEndpoint();
        await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));

        await endpoint.ReportReplica(new ReplicaReport("not-a-replica", DeploymentStatus.Ready, null, "CPUExecutionProvider"));

        var view = await endpoint.Get();
        Assert.NotNull(view);
        Assert.Equal(DeploymentStatus.Pending, Assert.Single(view.Deployments).Status);
    }

    [Fact]
    public async Task An_endpoint_wants_no_replica_it_has_not_placed()
    {
        var unknown = NewEndpoint();
        Assert.False(await unknown.WantsReplica("anything~0", "127.0.0.1:11111@1"));

        // With no worker silo in this cluster nothing is placed, so even the endpoint's own replica ids are not wanted anywhere.
        var model = await TestData.RegisterModelAsync(_client);
        var endpoint = NewEndpoint();
        var view = await endpoint.Apply(TestData.Spec(TestData.Deployment(model)));
        var replicaId = view.Deployments[0].ReplicaStatus[0].Id;
        Assert.False(await endpoint.WantsReplica(replicaId, "127.0.0.1:11111@1"));
    }
}

using Microsoft.Extensions.DependencyInjection;
using MlGrid.Contracts;
using MlGrid.ControlPlane.Grains;
using Orleans.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.TestingHost;

namespace MlGrid.Grains.Tests;

/// <summary>One in-process cluster shared by every grains test: a single control-plane silo and no worker silos.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; } = new TestClusterBuilder(initialSilosCount: 1)
        .AddSiloBuilderConfigurator<ControlPlaneSiloConfigurator>()
        .Build();

    public IClusterClient Client => Cluster.Client;

    public Task InitializeAsync() => Cluster.DeployAsync();

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

/// <summary>Wires the silo like the control-plane host does, with memory storage in place of blobs.</summary>
internal sealed class ControlPlaneSiloConfigurator : ISiloConfigurator
{
    public void Configure(ISiloBuilder siloBuilder) =>
        siloBuilder
            .AddMemoryGrainStorage(StorageNames.GrainState)
            .UseSiloMetadata(new Dictionary<string, string> { [SiloRoles.RoleKey] = SiloRoles.Control })
            .ConfigureServices(services => services.AddControlPlaneGrains());
}

using MlGrid.Contracts;
using MlGrid.Gateway.Routing;
using MlGrid.Gateway.Stats;
using static MlGrid.Gateway.Tests.StickySplitterTests;

namespace MlGrid.Gateway.Tests;

public sealed class DeploymentTargetsTests
{
    [Fact]
    public void For_returns_the_same_target_for_a_route_of_the_current_table_every_time()
    {
        var (state, targets, _) = Create();
        var table = Table(1);
        state.TryUpdate(table);
        var iris = table.Endpoints["iris"];

        var blue = targets.For("iris", iris, iris.Deployments[0]);

        Assert.Same(blue, targets.For("iris", iris, iris.Deployments[0]));
        Assert.Same(iris.Deployments[0], blue.Route);
        Assert.Equal(ProxyConfigProvider.ClusterId("iris", "blue"), blue.ClusterId);
        Assert.Equal("3", blue.ModelVersion);
        Assert.Equal(ProxyConfigProvider.ClusterId("iris", "green"), targets.For("iris", iris, iris.Deployments[1]).ClusterId);
        Assert.Equal(ProxyConfigProvider.ClusterId("wine", "blue"), targets.For("wine", table.Endpoints["wine"], table.Endpoints["wine"].Deployments[0]).ClusterId);
    }

    [Fact]
    public void A_new_table_gets_new_targets_even_when_its_routes_are_equal()
    {
        var (state, targets, _) = Create();
        var first = Table(1);
        state.TryUpdate(first);
        var before = targets.For("iris", first.Endpoints["iris"], first.Endpoints["iris"].Deployments[0]);
        var second = Table(2);
        state.TryUpdate(second);

        var after = targets.For("iris", second.Endpoints["iris"], second.Endpoints["iris"].Deployments[0]);

        Assert.NotSame(before, after);
        Assert.Same(second.Endpoints["iris"].Deployments[0], after.Route);
        Assert.Same(after, targets.For("iris", second.Endpoints["iris"], second.Endpoints["iris"].Deployments[0]));
    }

    [Fact]
    public void A_route_the_targets_have_not_seen_still_gets_its_target()
    {
        var (state, targets, _) = Create();
        state.TryUpdate(Table(1));
        var unseen = Table(2).Endpoints["iris"];

        var target = targets.For("iris", unseen, unseen.Deployments[1]);

        Assert.Same(unseen.Deployments[1], target.Route);
        Assert.Equal(ProxyConfigProvider.ClusterId("iris", "green"), target.ClusterId);
    }

    [Fact]
    public void Statistics_list_a_deployment_only_once_its_target_counts_traffic()
    {
        var (state, targets, stats) = Create();
        var table = Table(1);
        state.TryUpdate(table);
        var iris = table.Endpoints["iris"];
        var blue = targets.For("iris", iris, iris.Deployments[0]);

        Assert.Empty(stats.Report().Endpoints);

        blue.Stats.Live.Record(200, TimeSpan.FromMilliseconds(1));

        Assert.Same(stats.For("iris", "blue"), blue.Stats);
        Assert.Equal(["blue"], stats.Report().Endpoints["iris"].Deployments.Keys);
    }

    private static (RoutingState State, DeploymentTargets Targets, GatewayStats Stats) Create()
    {
        var state = new RoutingState();
        var stats = new GatewayStats();
        return (state, new DeploymentTargets(state, stats), stats);
    }

    private static RoutingTable Table(long version) => new(version, new Dictionary<string, EndpointRoute>
    {
        ["iris"] = new("iris", version, [Route("blue", 50) with { ModelVersion = 3 }, Route("green", 50)]),
        ["wine"] = new("wine", version, [Route("blue", 100)]),
    });
}

using MlGrid.Contracts;
using MlGrid.Gateway.Routing;

namespace MlGrid.Gateway.Tests;

public sealed class RoutingStateTests
{
    [Fact]
    public void State_has_no_table_until_the_first_arrives()
    {
        var state = new RoutingState();

        Assert.Null(state.Table);
        Assert.Null(state.Find("iris"));
    }

    [Fact]
    public void TryUpdate_takes_the_first_table_and_raises_Changed()
    {
        var state = new RoutingState();
        var seen = new List<RoutingTable>();
        state.Changed += seen.Add;
        var table = Table(3, "iris");

        Assert.True(state.TryUpdate(table));

        Assert.Same(table, state.Table);
        Assert.Same(table, Assert.Single(seen));
    }

    [Fact]
    public void TryUpdate_takes_a_table_of_version_zero_when_there_is_none()
    {
        var state = new RoutingState();

        Assert.True(state.TryUpdate(RoutingTable.Empty));

        Assert.Same(RoutingTable.Empty, state.Table);
    }

    [Fact]
    public void TryUpdate_takes_a_newer_table_and_raises_Changed_with_it()
    {
        var state = new RoutingState();
        state.TryUpdate(Table(3, "iris"));
        var seen = new List<RoutingTable>();
        state.Changed += seen.Add;
        var newer = Table(4, "iris", "wine");

        Assert.True(state.TryUpdate(newer));

        Assert.Same(newer, state.Table);
        Assert.Same(newer, Assert.Single(seen));
        Assert.NotNull(state.Find("wine"));
    }

    [Fact]
    public void Changed_runs_before_requests_can_see_the_new_table()
    {
        var state = new RoutingState();
        var current = Table(1, "iris");
        state.TryUpdate(current);
        RoutingTable? visibleDuringChanged = null;
        state.Changed += _ => visibleDuringChanged = state.Table;

        state.TryUpdate(Table(2, "iris", "wine"));

        Assert.Same(current, visibleDuringChanged);
        Assert.Equal(2, state.Table!.Version);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void TryUpdate_ignores_an_older_or_equal_version(long version)
    {
        var state = new RoutingState();
        var current = Table(5, "iris");
        state.TryUpdate(current);
        var raised = 0;
        state.Changed += _ => raised++;

        Assert.False(state.TryUpdate(Table(version, "stale")));

        Assert.Same(current, state.Table);
        Assert.Equal(0, raised);
        Assert.Null(state.Find("stale"));
    }

    [Fact]
    public void TryUpdate_keeps_the_newest_of_out_of_order_pushes()
    {
        var state = new RoutingState();
        var versions = new List<long>();
        state.Changed += t => versions.Add(t.Version);

        foreach (var version in new long[] { 2, 1, 4, 3, 4, 6, 5 })
        {
            state.TryUpdate(Table(version, "iris"));
        }

        Assert.Equal([2L, 4L, 6L], versions);
        Assert.Equal(6, state.Table!.Version);
    }

    [Fact]
    public void Find_returns_the_named_endpoint_or_null()
    {
        var state = new RoutingState();
        state.TryUpdate(Table(1, "iris", "wine"));

        Assert.Equal("wine", state.Find("wine")!.Name);
        Assert.Null(state.Find("Wine"));
        Assert.Null(state.Find("missing"));
    }

    private static RoutingTable Table(long version, params string[] endpoints) =>
        new(version, endpoints.ToDictionary(e => e, e => new EndpointRoute(e, version, [])));
}

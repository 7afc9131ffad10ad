using MlGrid.Contracts;
using MlGrid.Gateway.Routing;

namespace MlGrid.Gateway.Tests;

public sealed class TrafficSplitterTests
{
    private const int Samples = 200_000;

    [Fact]
    public void Choose_follows_the_weights_over_many_samples()
    {
        var deployments = new[] { Route("blue", 70), Route("green", 20), Route("canary", 10) };

        var shares = Shares(deployments, seed: 42);

        Assert.Equal(0.70, shares["blue"], 0.01);
        Assert.Equal(0.20, shares["green"], 0.01);
        Assert.Equal(0.10, shares["canary"], 0.01);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Choose_is_within_two_points_of_the_weights_over_a_few_thousand_requests(int seed)
    {
        var deployments = new[] { Route("blue", 50), Route("green", 30), Route("canary", 20) };

        var shares = Shares(deployments, seed, samples: 5_000);

        Assert.Equal(0.50, shares["blue"], 0.02);
        Assert.Equal(0.30, shares["green"], 0.02);
        Assert.Equal(0.20, shares["canary"], 0.02);
    }

    [Fact]
    public void Choose_follows_uneven_weights_that_do_not_sum_to_a_hundred()
    {
        var deployments = new[] { Route("a", 1), Route("b", 3), Route("c", 6) };

        var shares = Shares(deployments, seed: 7);

        Assert.Equal(0.1, shares["a"], 0.01);
        Assert.Equal(0.3, shares["b"], 0.01);
        Assert.Equal(0.6, shares["c"], 0.01);
    }

    [Fact]
    public void Choose_never_picks_a_zero_weight_deployment()
    {
        var deployments = new[] { Route("shadow", 0), Route("live", 100), Route("negative", -5) };

        var shares = Shares(deployments, seed: 1);

        Assert.Equal(["live"], shares.Keys);
        Assert.Same(deployments[1], TrafficSplitter.Choose(deployments, 0.0));
        Assert.Same(deployments[1], TrafficSplitter.Choose(deployments, Math.BitDecrement(1.0)));
    }

    [Fact]
    public void Choose_skips_deployments_without_replicas_and_renormalises_the_rest()
    {
        var deployments = new[] { Route("loading", 50, replicas: 0), Route("b", 30), Route("c", 20, replicas: 3) };

        var shares = Shares(deployments, seed: 99);

        Assert.False(shares.ContainsKey("loading"));
        Assert.Equal(30.0 / 50, shares["b"], 0.01);
        Assert.Equal(20.0 / 50, shares["c"], 0.01);
    }

    [Fact]
    public void Choose_sends_everything_to_the_only_ready_deployment()
    {
        var deployments = new[] { Route("a", 90, replicas: 0), Route("b", 10) };

        Assert.All(Enumerable.Range(0, 100), i => Assert.Same(deployments[1], TrafficSplitter.Choose(deployments, i / 100.0)));
    }

    [Fact]
    public void Choose_splits_the_unit_interval_in_list_order()
    {
        var deployments = new[] { Route("a", 25), Route("b", 75) };

        Assert.Same(deployments[0], TrafficSplitter.Choose(deployments, 0.0));
        Assert.Same(deployments[0], TrafficSplitter.Choose(deployments, 0.2499));
        Assert.Same(deployments[1], TrafficSplitter.Choose(deployments, 0.2501));
        Assert.Same(deployments[1], TrafficSplitter.Choose(deployments, Math.BitDecrement(1.0)));
    }

    [Fact]
    public void Choose_returns_null_when_no_deployment_is_ready()
    {
        Assert.Null(TrafficSplitter.Choose([], 0.5));
        Assert.Null(TrafficSplitter.Choose([Route("a", 0), Route("b", 0)], 0.5));
        Assert.Null(TrafficSplitter.Choose([Route("a", 60, replicas: 0), Route("b", 40, replicas: 0)], 0.5));
        Assert.Null(TrafficSplitter.Choose([Route("a", 0, replicas: 2), Route("b", 40, replicas: 0)], 0.5));
    }

    private static Dictionary<string, double> Shares(IReadOnlyList<DeploymentRoute> deployments, int seed, int samples = Samples)
    {
        var random = new Random(seed);
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < samples; i++)
        {
            var chosen = TrafficSplitter.Choose(deployments, random.NextDouble());
            Assert.NotNull(chosen);
            counts[chosen.Name] = counts.GetValueOrDefault(chosen.Name) + 1;
        }

        return counts.ToDictionary(c => c.Key, c => (double)c.Value / samples);
    }

    private static DeploymentRoute Route(string name, int weight, int replicas = 1) =>
        new(name, "model", 1, weight, new ModelSignature([], []),
            Enumerable.Range(0, replicas).Select(i => $"http://{name}-{i}:8080").ToList());
}

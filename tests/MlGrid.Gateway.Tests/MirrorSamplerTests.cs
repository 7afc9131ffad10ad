using MlGrid.Contracts;
using MlGrid.Gateway.Routing;
using static MlGrid.Gateway.Tests.StickySplitterTests;

namespace MlGrid.Gateway.Tests;

public sealed class MirrorSamplerTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(30)]
    [InlineData(75)]
    public void Choose_mirrors_the_configured_share_of_requests(int percent)
    {
        var live = Route("blue", 100);
        var endpoint = Endpoint(new MirrorSpec("shadow", percent), live, Route("shadow", 0));
        var random = new Random(percent);
        const int samples = 10_000;

        var mirrored = 0;
        for (var i = 0; i < samples; i++)
        {
            if (MirrorSampler.Choose(endpoint, live, random.NextDouble()) is { } mirror)
            {
                Assert.Equal("shadow", mirror.Name);
                mirrored++;
            }
        }

        Assert.Equal(percent / 100.0, (double)mirrored / samples, 0.02);
    }

    [Fact]
    public void Choose_mirrors_everything_at_a_hundred_percent_and_nothing_at_zero()
    {
        var live = Route("blue", 100);
        var all = Endpoint(new MirrorSpec("shadow", 100), live, Route("shadow", 0));
        var none = Endpoint(new MirrorSpec("shadow", 0), live, Route("shadow", 0));

        Assert.NotNull(MirrorSampler.Choose(all, live, Math.BitDecrement(1.0)));
        Assert.NotNull(MirrorSampler.Choose(all, live, 0.0));
        Assert.Null(MirrorSampler.Choose(none, live, 0.0));
    }

    [Fact]
    public void Choose_uses_the_sample_as_a_threshold()
    {
        var live = Route("blue", 100);
        var endpoint = Endpoint(new MirrorSpec("shadow", 25), live, Route("shadow", 0));

        Assert.NotNull(MirrorSampler.Choose(endpoint, live, 0.2499));
        Assert.Null(MirrorSampler.Choose(endpoint, live, 0.25));
    }

    [Fact]
    public void Choose_does_not_mirror_without_a_mirror_spec()
    {
        var live = Route("blue", 100);

        Assert.Null(MirrorSampler.Choose(Endpoint(null, live, Route("shadow", 0)), live, 0.0));
    }

    [Fact]
    public void Choose_does_not_mirror_to_a_shadow_deployment_without_ready_replicas()
    {
        var live = Route("blue", 100);

        Assert.Null(MirrorSampler.Choose(Endpoint(new MirrorSpec("shadow", 100), live, Route("shadow", 0, replicas: 0)), live, 0.0));
    }

    [Fact]
    public void Choose_does_not_mirror_to_a_deployment_that_does_not_exist()
    {
        var live = Route("blue", 100);

        Assert.Null(MirrorSampler.Choose(Endpoint(new MirrorSpec("gone", 100), live), live, 0.0));
    }

    [Fact]
    public void Choose_does_not_mirror_a_request_the_shadow_deployment_serves_itself()
    {
        var blue = Route("blue", 50);
        var green = Route("green", 50);
        var endpoint = Endpoint(new MirrorSpec("green", 100), blue, green);

        Assert.Null(MirrorSampler.Choose(endpoint, green, 0.0));
        Assert.Same(green, MirrorSampler.Choose(endpoint, blue, 0.0));
    }

    private static EndpointRoute Endpoint(MirrorSpec? mirror, params DeploymentRoute[] deployments) =>
        new("iris", 1, deployments, Mirror: mirror);
}

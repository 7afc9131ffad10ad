using MlGrid.Contracts;
using MlGrid.ControlPlane.Grains;

namespace MlGrid.Grains.Tests;

public sealed class EndpointSpecValidatorTests
{
    private static DeploymentSpec Deployment(string name = "main", string version = "1", int replicas = 1, string device = Devices.Auto) =>
        new(name, "model", version, replicas, device);

    private static string Refused(EndpointSpec spec)
    {
        var error = Assert.Throws<RequestException>(() => EndpointSpecValidator.Validate(spec));
        Assert.Equal(RequestErrorKind.Invalid, error.Kind);
        return error.Message;
    }

    [Fact]
    public void Validate_gives_a_single_deployment_all_traffic_when_traffic_is_omitted()
    {
        var weights = EndpointSpecValidator.Validate(new EndpointSpec([Deployment()], new Dictionary<string, int>()));

        var (name, weight) = Assert.Single(weights);
        Assert.Equal(("main", 100), (name, weight));
    }

    [Fact]
    public void Validate_treats_null_traffic_as_omitted()
    {
        var weights = EndpointSpecValidator.Validate(new EndpointSpec([Deployment()], null!));

        Assert.Equal(100, weights["main"]);
    }

    [Fact]
    public void Validate_returns_the_declared_weights()
    {
        var weights = EndpointSpecValidator.Validate(new EndpointSpec(
            [Deployment("blue"), Deployment("green", "2")],
            new Dictionary<string, int> { ["blue"] = 90, ["green"] = 10 }));

        Assert.Equal(90, weights["blue"]);
        Assert.Equal(10, weights["green"]);
    }

    [Fact]
    public void Validate_gives_weight_zero_to_a_deployment_missing_from_traffic()
    {
        var weights = EndpointSpecValidator.Validate(new EndpointSpec(
            [Deployment("blue"), Deployment("shadow", "2")],
            new Dictionary<string, int> { ["blue"] = 100 }));

        Assert.Equal(100, weights["blue"]);
        Assert.Equal(0, weights["shadow"]);
    }

    [Fact]
    public void Validate_accepts_16_replicas_and_16_deployments()
    {
        var deployments = Enumerable.Range(0, EndpointSpecValidator.MaxDeployments)
            .Select(i => Deployment($"d{i}", replicas: EndpointSpecValidator.MaxReplicas))
            .ToList();
        var traffic = new Dictionary<string, int> { ["d0"] = 100 };

        var weights = EndpointSpecValidator.Validate(new EndpointSpec(deployments, traffic));

        Assert.Equal(EndpointSpecValidator.MaxDeployments, weights.Count);
    }

    [Fact]
    public void Validate_refuses_null_deployments()
    {
        Assert.Contains("at least one deployment", Refused(new EndpointSpec(null!, new Dictionary<string, int>())), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_refuses_more_than_16_deployments()
    {
        var deployments = Enumerable.Range(0, EndpointSpecValidator.MaxDeployments + 1).Select(i => Deployment($"d{i}")).ToList();

        Assert.Contains("at most 16", Refused(new EndpointSpec(deployments, new Dictionary<string, int> { ["d0"] = 100 })), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-main")]
    [InlineData("main deployment")]
    public void Validate_refuses_invalid_deployment_name(string name)
    {
        var message = Refused(new EndpointSpec([Deployment(name)], new Dictionary<string, int>()));

        Assert.Contains("deployment name", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_refuses_invalid_model_name()
    {
        var message = Refused(new EndpointSpec([Deployment() with { Model = "no/slashes" }], new Dictionary<string, int>()));

        Assert.Contains("model name", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Validate_refuses_missing_version(string version)
    {
        var message = Refused(new EndpointSpec([Deployment(version: version)], new Dictionary<string, int>()));

        Assert.Contains("'version'", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_refuses_zero_weights_summing_to_zero()
    {
        var message = Refused(new EndpointSpec([Deployment()], new Dictionary<string, int> { ["main"] = 0 }));

        Assert.Contains("sum to 0", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1_000_000)]
    public void Validate_accepts_a_rate_limit_from_1_to_a_million(int requestsPerSecond)
    {
        var weights = EndpointSpecValidator.Validate(
            new EndpointSpec([Deployment()], new Dictionary<string, int>(), RateLimit: new RateLimitSpec(requestsPerSecond)));

        Assert.Equal(100, weights["main"]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(1_000_001)]
    public void Validate_refuses_a_rate_limit_outside_1_to_a_million(int requestsPerSecond)
    {
        var message = Refused(new EndpointSpec([Deployment()], new Dictionary<string, int>(), RateLimit: new RateLimitSpec(requestsPerSecond)));

        Assert.Contains($"requestsPerSecond {requestsPerSecond} is outside 1 to 1,000,000", message, StringComparison.Ordinal);
    }
}

using MlGrid.Contracts;

namespace MlGrid.Grains.Tests;

/// <summary>Unique names and sample records, so that no test sees another test's grains.</summary>
internal static class TestData
{
    public static ModelSignature Signature { get; } = new(
        [new TensorSignature("input", "FP32", [-1, 4])],
        [new TensorSignature("output", "FP32", [-1, 3])]);

    /// <summary>A valid name (see <see cref="Names"/>) no other test uses.</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public static NewModelVersion ModelFile(int seed = 1) =>
        new(Convert.ToHexStringLower(BitConverter.GetBytes(seed)).PadLeft(64, '0'), 1000 + seed, Signature);

    /// <summary>Registers a new model with <paramref name="versions"/> versions and returns its name.</summary>
    public static async Task<string> RegisterModelAsync(IGrainFactory grains, int versions = 1)
    {
        var name = UniqueName("model");
        var model = grains.GetGrain<IModelGrain>(name);
        for (var i = 1; i <= versions; i++)
        {
            await model.AddVersion(ModelFile(i));
        }

        return name;
    }

    public static DeploymentSpec Deployment(string model, string name = "main", string version = "1", int replicas = 1, string device = Devices.Auto) =>
        new(name, model, version, replicas, device);

    public static EndpointSpec Spec(params DeploymentSpec[] deployments) => new(deployments, new Dictionary<string, int>());

    public static EndpointSpec Spec(IReadOnlyDictionary<string, int> traffic, params DeploymentSpec[] deployments) => new(deployments, traffic);

    /// <summary>Awaits a call that must be refused, and checks the refusal kept its type and kind across the Orleans call.</summary>
    public static async Task<RequestException> RefusedAsync(RequestErrorKind kind, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RequestException>(call);
        Assert.Equal(kind, error.Kind);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        return error;
    }
}

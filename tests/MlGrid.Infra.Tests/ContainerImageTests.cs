using System.Text.Json;

namespace MlGrid.Infra.Tests;

/// <summary>How each service's image is built by the SDK (dotnet publish -t:PublishContainer), read from the projects as publish sees them.</summary>
public sealed class ContainerImageTests
{
    [Theory]
    [InlineData("src/MlGrid.ControlPlane/MlGrid.ControlPlane.csproj", "mlgrid/controlplane")]
    [InlineData("src/MlGrid.Gateway/MlGrid.Gateway.csproj", "mlgrid/gateway")]
    [InlineData("src/MlGrid.Worker/MlGrid.Worker.csproj", "mlgrid/worker")]
    public void Each_service_publishes_an_image_of_its_own(string project, string repository)
    {
        var properties = PublishProperties(project, "ContainerRepository", "IsPublishable");
        Assert.Equal(repository, properties["ContainerRepository"]);
        Assert.NotEqual("false", properties["IsPublishable"]);
    }

    private static Dictionary<string, string> PublishProperties(string project, params string[] names)
    {
        // With two or more names msbuild answers in JSON.
        Assert.True(names.Length >= 2);
        var output = Processes.Dotnet(TimeSpan.FromMinutes(2),
            ["msbuild", Path.Combine(Bicep.RepositoryRoot, project), "-p:_IsPublishing=true", .. names.Select(n => $"-getProperty:{n}")]);
        return JsonDocument.Parse(output).RootElement.GetProperty("Properties").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
    }
}

using System.Diagnostics;
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

    [Fact]
    public void The_worker_image_carries_cuda_and_cudnn_for_onnx_runtime_and_a_self_contained_app()
    {
        var properties = PublishProperties("src/MlGrid.Worker/MlGrid.Worker.csproj", "ContainerBaseImage", "SelfContained", "ContainerRuntimeIdentifier");

        // ONNX Runtime 1.2x's CUDA provider loads CUDA 12 and cuDNN 9.
        Assert.Matches(@"^nvcr\.io/nvidia/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu\d+\.\d+$", properties["ContainerBaseImage"]);
        Assert.Equal("true", properties["SelfContained"]);
        Assert.Equal("linux-x64", properties["ContainerRuntimeIdentifier"]);
    }

    private static Dictionary<string, string> PublishProperties(string project, params string[] names)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Bicep.RepositoryRoot,
        };
        start.ArgumentList.Add("msbuild");
        start.ArgumentList.Add(Path.Combine(Bicep.RepositoryRoot, project));
        start.ArgumentList.Add("-p:_IsPublishing=true");
        foreach (var name in names)
        {
            start.ArgumentList.Add($"-getProperty:{name}");
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, output + process.StandardError.ReadToEnd());
        // With two or more names msbuild answers in JSON.
        Assert.True(names.Length >= 2);
        return JsonDocument.Parse(output).RootElement.GetProperty("Properties").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
    }
}

using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;

namespace MlGrid.Infra.Tests;

/// <summary>
/// Builds each service's image with the SDK's container support and no Docker engine, as azd deploy does
/// (dotnet publish -t:PublishContainer), into a tarball, and reads the image back. The base images come from a
/// loopback registry under the same repository and tag as the real ones, because mcr.microsoft.com and nvcr.io are
/// out of reach here; everything else (the app layer, entrypoint, ports, user, environment) is what azd would push.
/// </summary>
public sealed class ContainerBuildTests(ContainerBuildTests.Builds builds) : IClassFixture<ContainerBuildTests.Builds>
{
    [Fact]
    public async Task The_worker_image_is_the_self_contained_worker_with_onnx_runtimes_cuda_provider_on_the_cuda_base()
    {
        var image = await builds.BuildAsync("src/MlGrid.Worker/MlGrid.Worker.csproj");

        Assert.Equal(["/app/MlGrid.Worker"], image.Entrypoint);
        Assert.Equal("1000", image.User);
        Assert.Contains("8080/tcp", image.ExposedPorts);
        Assert.Contains("ASPNETCORE_HTTP_PORTS=8080", image.Environment);
        // The base image's own environment (what NVIDIA's container runtime reads to mount the driver) carries through.
        Assert.Contains("NVIDIA_VISIBLE_DEVICES=all", image.Environment);
        Assert.Contains("NVIDIA_DRIVER_CAPABILITIES=compute,utility", image.Environment);
        Assert.True(image.KeepsBaseLayers, "the base image's layers are not the first layers of the image");

        // ONNX Runtime's CUDA execution provider and the bridge it loads through, beside the runtime itself (self-contained).
        Assert.Contains("app/libonnxruntime.so", image.AppFiles);
        Assert.Contains("app/libonnxruntime_providers_cuda.so", image.AppFiles);
        Assert.Contains("app/libonnxruntime_providers_shared.so", image.AppFiles);
        Assert.Contains("app/libcoreclr.so", image.AppFiles);
        Assert.Contains("app/MlGrid.Worker", image.AppFiles);
        Assert.Contains("app/MlGrid.Worker.dll", image.AppFiles);

        // NVIDIA's CUDA runtime image with cuDNN, of the CUDA major version the packaged CUDA provider links against.
        var baseImage = System.Text.RegularExpressions.Regex.Match(image.BaseImage, @"^nvcr\.io/nvidia/cuda:(?<major>\d+)\.\d+\.\d+-cudnn-runtime-ubuntu\d+\.\d+$");
        Assert.True(baseImage.Success, image.BaseImage);
        var needed = ElfLibraries.Needed(image.CudaProvider!);
        foreach (var library in new[] { "libcudart.so", "libcublas.so", "libcublasLt.so" })
        {
            Assert.Contains($"{library}.{baseImage.Groups["major"].Value}", needed);
        }
    }

    [Theory]
    [InlineData("src/MlGrid.ControlPlane/MlGrid.ControlPlane.csproj", "MlGrid.ControlPlane")]
    [InlineData("src/MlGrid.Gateway/MlGrid.Gateway.csproj", "MlGrid.Gateway")]
    public async Task Control_plane_and_gateway_images_run_the_app_on_the_aspnet_runtime_image(string project, string assembly)
    {
        var image = await builds.BuildAsync(project);

        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", image.BaseImage);
        Assert.Equal(["dotnet", $"/app/{assembly}.dll"], image.Entrypoint);
        Assert.Contains("8080/tcp", image.ExposedPorts);
        Assert.Contains("ASPNETCORE_HTTP_PORTS=8080", image.Environment);
        // Not root: the SDK runs the app as the aspnet image's own app user.
        Assert.Equal("1654", image.User);
        Assert.True(image.KeepsBaseLayers, "the base image's layers are not the first layers of the image");
        Assert.Contains($"app/{assembly}.dll", image.AppFiles);
        Assert.DoesNotContain("app/libcoreclr.so", image.AppFiles);
        // Nothing GPU-specific rides along outside the worker.
        Assert.DoesNotContain(image.AppFiles, f => f.Contains("onnxruntime_providers_cuda", StringComparison.Ordinal));
    }

    /// <summary>What the test reads back from an image tarball.</summary>
    public sealed record BuiltImage(
        string BaseImage,
        IReadOnlyList<string> Entrypoint,
        string? User,
        IReadOnlyList<string> ExposedPorts,
        IReadOnlyList<string> Environment,
        bool KeepsBaseLayers,
        IReadOnlySet<string> AppFiles,
        string? CudaProvider);

    /// <summary>The loopback registry and one artifacts folder shared by the three builds (they share most projects).</summary>
    public sealed class Builds : IAsyncLifetime
    {
        private readonly string _root = Directory.CreateTempSubdirectory("mlgrid-images-").FullName;
        private readonly SemaphoreSlim _oneAtATime = new(1, 1);
        private StandInRegistry? _registry;

        public async Task InitializeAsync() => _registry = await StandInRegistry.StartAsync();

        public async Task DisposeAsync()
        {
            if (_registry is not null)
            {
                await _registry.DisposeAsync();
            }

            Directory.Delete(_root, recursive: true);
        }

        public async Task<BuiltImage> BuildAsync(string project)
        {
            await _oneAtATime.WaitAsync();
            try
            {
                return Build(project);
            }
            finally
            {
                _oneAtATime.Release();
            }
        }

        private BuiltImage Build(string project)
        {
            var registry = _registry!;
            var realBase = Processes.Dotnet(TimeSpan.FromMinutes(2), ["msbuild", project, "-t:ComputeContainerBaseImage", "-p:_IsPublishing=true", "-getProperty:ContainerBaseImage"]).Trim();
            var slash = realBase.IndexOf('/', StringComparison.Ordinal);
            var reference = realBase[(slash + 1)..];
            var colon = reference.LastIndexOf(':');
            var baseLayer = registry.AddImage(reference[..colon], reference[(colon + 1)..],
                new Dictionary<string, string> { ["etc/stand-in-base"] = realBase },
                ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", .. BaseEnvironment(reference)]);

            var archive = Path.Combine(_root, Path.GetFileNameWithoutExtension(project) + ".tar.gz");
            Processes.Dotnet(
                TimeSpan.FromMinutes(8),
                ["publish", project, "-c", "Release", "-t:PublishContainer", "--artifacts-path", Path.Combine(_root, "artifacts"),
                    $"-p:ContainerBaseImage={registry.Host}/{reference}", $"-p:ContainerArchiveOutputPath={archive}"],
                // The loopback registry speaks plain HTTP.
                new Dictionary<string, string> { ["DOTNET_CONTAINER_INSECURE_REGISTRIES"] = registry.Host });
            return Read(archive, realBase, baseLayer);
        }

        /// <summary>Part of the environment the real base images set, which the built image must keep.</summary>
        private static string[] BaseEnvironment(string reference) => reference.StartsWith("nvidia/cuda:", StringComparison.Ordinal)
            ? ["NVIDIA_VISIBLE_DEVICES=all", "NVIDIA_DRIVER_CAPABILITIES=compute,utility", "LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64"]
            : ["APP_UID=1654", "DOTNET_RUNNING_IN_CONTAINER=true"];

        private static BuiltImage Read(string archive, string baseImage, string baseLayerDiffId)
        {
            Assert.True(File.Exists(archive), $"no image tarball at {archive}");
            var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            using (var file = File.OpenRead(archive))
            using (var reader = new TarReader(file))
            {
                while (reader.GetNextEntry() is { } entry)
                {
                    if (entry.DataStream is null)
                    {
                        continue;
                    }

                    using var copy = new MemoryStream();
                    entry.DataStream.CopyTo(copy);
                    entries[entry.Name.TrimStart('.', '/')] = copy.ToArray();
                }
            }

            // An OCI image layout (the base image is an OCI manifest): index.json names the manifest, the manifest the
            // config and the layers in order, all by digest under blobs/.
            Assert.True(entries.ContainsKey("oci-layout"), "not an OCI image layout: " + string.Join(", ", entries.Keys.Take(10)));
            byte[] Blob(JsonElement descriptor) => entries["blobs/" + descriptor.GetProperty("digest").GetString()!.Replace(':', '/')];
            var manifest = JsonDocument.Parse(Blob(JsonDocument.Parse(entries["index.json"]).RootElement.GetProperty("manifests")[0])).RootElement;
            var config = JsonDocument.Parse(Blob(manifest.GetProperty("config"))).RootElement;
            var settings = config.GetProperty("config");
            var diffIds = config.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(d => d.GetString()!).ToList();

            var appFiles = new HashSet<string>(StringComparer.Ordinal);
            string? cudaProvider = null;
            foreach (var layer in manifest.GetProperty("layers").EnumerateArray().Skip(1))
            {
                var bytes = Blob(layer);
                using var content = IsGzip(bytes) ? (Stream)new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress) : new MemoryStream(bytes);
                using var reader = new TarReader(content);
                while (reader.GetNextEntry() is { } entry)
                {
                    var name = entry.Name.TrimStart('.', '/');
                    appFiles.Add(name);
                    if (name == "app/libonnxruntime_providers_cuda.so")
                    {
                        cudaProvider = Path.Combine(Path.GetDirectoryName(archive)!, Path.GetFileName(archive) + ".providers_cuda.so");
                        entry.ExtractToFile(cudaProvider, overwrite: true);
                    }
                }
            }

            return new BuiltImage(
                baseImage,
                Strings(settings, "Entrypoint").Concat(Strings(settings, "Cmd")).ToList(),
                settings.TryGetProperty("User", out var user) ? user.GetString() : null,
                settings.TryGetProperty("ExposedPorts", out var ports) ? ports.EnumerateObject().Select(p => p.Name).ToList() : [],
                Strings(settings, "Env"),
                diffIds.Count >= 2 && diffIds[0] == baseLayerDiffId,
                appFiles,
                cudaProvider);
        }

        private static List<string> Strings(JsonElement settings, string name) =>
            settings.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
                ? value.EnumerateArray().Select(v => v.GetString()!).ToList()
                : [];

        private static bool IsGzip(byte[] bytes) => bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
    }
}

using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MlGrid.Infra.Tests;

/// <summary>
/// A read-only OCI distribution registry on loopback that serves base images made here, so that the SDK's
/// container build (dotnet publish -t:PublishContainer) runs for real where mcr.microsoft.com and nvcr.io cannot be reached.
/// It answers only what pulling needs: /v2/, manifests and blobs, by GET and HEAD.
/// </summary>
internal sealed class StandInRegistry : IAsyncDisposable
{
    private const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
    private const string ConfigMediaType = "application/vnd.oci.image.config.v1+json";
    private const string LayerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip";

    private readonly WebApplication _app;
    private readonly Dictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _manifests = new(StringComparer.Ordinal);

    private StandInRegistry(WebApplication app) => _app = app;

    /// <summary>host:port, as an image reference's registry part.</summary>
    public string Host { get; private set; } = "";

    public static async Task<StandInRegistry> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var registry = new StandInRegistry(app);
        app.MapMethods("/v2/", ["GET", "HEAD"], () => Results.Json(new { }));
        app.MapMethods("/v2/{**path}", ["GET", "HEAD"], (string path, HttpContext context) => registry.Answer(path, context));
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        registry.Host = $"localhost:{address.Port}";
        return registry;
    }

    /// <summary>
    /// Adds an image under repository:tag: one layer holding the given files, and a config with the given environment,
    /// as the real base image's config carries its own (PATH, NVIDIA_VISIBLE_DEVICES, …). Returns the layer's diff id.
    /// </summary>
    public string AddImage(string repository, string tag, IReadOnlyDictionary<string, string> files, IReadOnlyList<string> environment)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (path, content) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path)
                {
                    DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                });
            }
        }

        var gzipped = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(tar.ToArray());
        }

        var layer = gzipped.ToArray();
        var config = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Env"] = new JsonArray([.. environment.Select(e => JsonValue.Create(e))]) },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(Digest(tar.ToArray())) },
        });
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ManifestMediaType,
            ["config"] = Descriptor(ConfigMediaType, config),
            ["layers"] = new JsonArray(Descriptor(LayerMediaType, layer)),
        });

        lock (_blobs)
        {
            _blobs[Digest(config)] = config;
            _blobs[Digest(layer)] = layer;
            _manifests[$"{repository}:{tag}"] = manifest;
            _manifests[$"{repository}@{Digest(manifest)}"] = manifest;
        }

        return Digest(tar.ToArray());
    }

    /// <summary>A content digest as OCI writes it.</summary>
    public static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    private static JsonObject Descriptor(string mediaType, byte[] content) => new()
    {
        ["mediaType"] = mediaType,
        ["digest"] = Digest(content),
        ["size"] = content.Length,
    };

    private IResult Answer(string path, HttpContext context)
    {
        byte[]? content;
        string mediaType;
        var manifests = path.LastIndexOf("/manifests/", StringComparison.Ordinal);
        var blobs = path.LastIndexOf("/blobs/", StringComparison.Ordinal);
        lock (_blobs)
        {
            if (manifests > 0)
            {
                var reference = path[(manifests + "/manifests/".Length)..];
                var separator = reference.StartsWith("sha256:", StringComparison.Ordinal) ? "@" : ":";
                _manifests.TryGetValue(path[..manifests] + separator + reference, out content);
                mediaType = ManifestMediaType;
            }
            else if (blobs > 0)
            {
                _blobs.TryGetValue(path[(blobs + "/blobs/".Length)..], out content);
                mediaType = "application/octet-stream";
            }
            else
            {
                content = null;
                mediaType = "";
            }
        }

        if (content is null)
        {
            return Results.Json(new { errors = new[] { new { code = "NAME_UNKNOWN", message = $"{path} is not in this registry" } } }, statusCode: 404);
        }

        context.Response.Headers["Docker-Content-Digest"] = Digest(content);
        if (HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.ContentType = mediaType;
            context.Response.ContentLength = content.Length;
            return Results.Empty;
        }

        return Results.Bytes(content, mediaType);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

using System.Net;
using System.Text.Json;
using MlGrid.Contracts;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>Body limits per kind of call: 413 up front for a declared length, and for a chunked body that grows past the limit.</summary>
public sealed class BodyLimitTests
{
    private static readonly Dictionary<string, string?> SmallLimits = new()
    {
        ["Gateway:Limits:MaxApiBodyBytes"] = "1024",
        ["Gateway:Limits:MaxUploadBodyBytes"] = "8192",
        ["Gateway:Limits:MaxInferenceBodyBytes"] = "4096",
    };

    [Theory]
    [InlineData("PUT", "/api/v1/endpoints/iris", 2000, "API request limit of 1 KiB", "Gateway:Limits:MaxApiBodyBytes")]
    [InlineData("POST", "/api/2.0/mlflow/runs/create", 2000, "API request limit of 1 KiB", "Gateway:Limits:MaxApiBodyBytes")]
    [InlineData("POST", "/api/v1/models/iris/versions", 9000, "upload limit of 8 KiB", "Gateway:Limits:MaxUploadBodyBytes")]
    [InlineData("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/model.onnx", 9000, "upload limit of 8 KiB", "Gateway:Limits:MaxUploadBodyBytes")]
    [InlineData("POST", "/v2/models/iris/infer", 5000, "inference request limit of 4 KiB", "Gateway:Limits:MaxInferenceBodyBytes")]
    public async Task A_declared_length_over_the_limit_is_refused_before_anything_is_forwarded(string method, string path, int size, string limit, string setting)
    {
        await using var replica = await FakeReplica.StartAsync("r-0");
        await using var gateway = await StartAsync(SmallLimits);
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, replica.Url)]));
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent(new byte[size]) };

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        var message = AccessMatrixTests.Message(path, body);
        Assert.Contains(limit, message);
        Assert.Contains(setting, message);
        AccessMatrixTests.AssertSurface(path, response, body, "RESOURCE_EXHAUSTED", "Request body too large");
        Assert.Empty(gateway.ControlPlane.Requests);
        Assert.Empty(replica.Requests);
        await EventuallyAsync(() => gateway.Audit.Events.Any(e => e.Status == 413 && e.Principal == "admin" && e.Target == path), "the 413 is audited");
    }

    [Theory]
    [InlineData("POST", "/api/v1/models/iris/versions", 6000)]
    [InlineData("PUT", "/api/v1/endpoints/iris", 1000)]
    [InlineData("POST", "/v2/models/iris/infer", 4000)]
    public async Task A_body_within_its_limit_goes_through(string method, string path, int size)
    {
        await using var replica = await FakeReplica.StartAsync("r-0");
        await using var gateway = await StartAsync(SmallLimits);
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, replica.Url)]));

        using var declared = await gateway.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent(new byte[size]) });
        using var chunked = await gateway.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = new ChunkedContent(size) });

        Assert.Equal(HttpStatusCode.OK, declared.StatusCode);
        Assert.Equal(HttpStatusCode.OK, chunked.StatusCode);
        Assert.All(gateway.ControlPlane.Requests.Concat(replica.Requests), r => Assert.Equal(size, r.Body.Length));
    }

    [Theory]
    [InlineData("/api/v1/endpoints/iris", "Gateway:Limits:MaxApiBodyBytes")]
    [InlineData("/v2/models/iris/infer", "Gateway:Limits:MaxInferenceBodyBytes")]
    public async Task A_chunked_body_that_grows_past_the_limit_gets_413_not_400_or_502(string path, string setting)
    {
        await using var replica = await FakeReplica.StartAsync("r-0");
        await using var gateway = await StartAsync(SmallLimits);
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, replica.Url)]));
        using var request = new HttpRequestMessage(path.StartsWith("/v2", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Put, path)
        {
            Content = new ChunkedContent(64 * 1024),
        };

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var message = AccessMatrixTests.Message(path, await response.Content.ReadAsStringAsync());
        Assert.Contains(setting, message);
        await EventuallyAsync(() => gateway.Audit.Events.Any(e => e.Status == 413 && e.Target == path), "the 413 is audited");
    }

    [Fact]
    public async Task A_mirrored_chunked_body_that_grows_past_the_limit_gets_413()
    {
        await using var live = await FakeReplica.StartAsync("blue-0");
        await using var mirror = await FakeReplica.StartAsync("green-0");
        await using var gateway = await StartAsync(SmallLimits);
        gateway.Publish(new EndpointRoute("iris", 1, [Deployment("blue", 100, live.Url), Deployment("green", 0, mirror.Url)],
            Mirror: new MirrorSpec("green", 100)));

        using var response = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v2/models/iris/infer") { Content = new ChunkedContent(64 * 1024) });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.Contains("Gateway:Limits:MaxInferenceBodyBytes", error);
        Assert.Empty(live.Requests);
    }

    /// <summary>A body of unknown length (chunked transfer encoding), sent in 1 KiB writes.</summary>
    private sealed class ChunkedContent(int size) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new byte[1024];
            for (var sent = 0; sent < size; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk.AsMemory(0, Math.Min(chunk.Length, size - sent)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using MlGrid.Gateway.Apis;
using MlGrid.Gateway.Auth;
using MlGrid.Gateway.Routing;
using MlGrid.Governance;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace MlGrid.Gateway.Tests;

/// <summary>
/// The gateway's proxy pipeline on a free local port, without the Orleans client: tests publish routing tables and key
/// rings directly, a fake replica stands in for the control plane, and refusals go to an in-memory audit sink.
/// </summary>
internal sealed class GatewayHarness : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key-0123456789";
    public const string InternalKey = "test-internal-key-0123456789abcdef-0123456789";

    private readonly WebApplication _app;
    private readonly Lock _keysLock = new();
    private Dictionary<string, ApiKeyRecord> _keys = [];
    private long _version;
    private long _keyRingVersion;

    private GatewayHarness(WebApplication app, Uri address, FakeReplica controlPlane, RecordingAuditSink audit)
    {
        _app = app;
        Address = address;
        ControlPlane = controlPlane;
        Audit = audit;
        Client = NewClient(address);
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public Uri Address { get; }

    /// <summary>Authenticated with the bootstrap admin key, no cookie container: tests send and read cookies themselves.</summary>
    public HttpClient Client { get; }

    /// <summary>Where <c>/api/**</c> goes: a fake replica that records what it receives, under <c>/replicas/control-plane</c>.</summary>
    public FakeReplica ControlPlane { get; }

    public RecordingAuditSink Audit { get; }

    public RoutingState State => _app.Services.GetRequiredService<RoutingState>();

    public KeyRingState Keys => _app.Services.GetRequiredService<KeyRingState>();

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    /// <param name="loadKeyRing">False to start as a gateway that has not heard from the key registry yet.</param>
    public static async Task<GatewayHarness> StartAsync(
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null,
        bool loadKeyRing = true)
    {
        var controlPlane = await FakeReplica.StartAsync("control-plane");
        var audit = new RecordingAuditSink();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var configuration = new Dictionary<string, string?>
        {
            ["Gateway:AdminKey"] = AdminKey,
            ["Gateway:ControlPlaneUrl"] = controlPlane.Url,
            ["Governance:InternalKey"] = InternalKey,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddGatewayProxy();
        builder.Services.AddSingleton<IAuditSink>(audit);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseGateway();
        app.MapOipApi();
        app.MapGatewayApi();
        await app.StartAsync();
        var harness = new GatewayHarness(app, new Uri(app.Urls.First()), controlPlane, audit);
        if (loadKeyRing)
        {
            harness.PublishKeys();
        }

        return harness;
    }

    public static HttpClient NewClient(Uri address, string? key = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseCookies = false, UseProxy = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>A client sending <paramref name="key"/> as its bearer token.</summary>
    public HttpClient ClientWith(string? key) => NewClient(Address, key);

    /// <summary>Creates a key the way the registry does, publishes the new ring, and returns the key a caller sends.</summary>
    public (ApiKeyRecord Record, string Key) AddKey(
        string name,
        Role role,
        IReadOnlyList<string>? endpoints = null,
        int? requestsPerSecond = null,
        DateTimeOffset? expiresAt = null)
    {
        var (id, secret, key) = ApiKeys.Generate();
        var salt = ApiKeys.NewSalt();
        var record = new ApiKeyRecord(id, name, role, endpoints ?? [], expiresAt, DateTimeOffset.UtcNow, "admin", null, salt,
            ApiKeys.Hash(salt, secret), requestsPerSecond);
        lock (_keysLock)
        {
            _keys = new Dictionary<string, ApiKeyRecord>(_keys) { [id] = record };
        }

        PublishKeys();
        return (record, key);
    }

    public void Revoke(string id)
    {
        lock (_keysLock)
        {
            _keys = new Dictionary<string, ApiKeyRecord>(_keys) { [id] = _keys[id] with { RevokedAt = DateTimeOffset.UtcNow } };
        }

        PublishKeys();
    }

    /// <summary>Publishes the keys added so far as a new ring version, as the follower would after a push or a poll.</summary>
    public void PublishKeys()
    {
        lock (_keysLock)
        {
            Assert.True(Keys.TryUpdate(new KeyRing(++_keyRingVersion, _keys)));
        }
    }

    public void Publish(params EndpointRoute[] endpoints) =>
        Assert.True(State.TryUpdate(new RoutingTable(Interlocked.Increment(ref _version), endpoints.ToDictionary(e => e.Name))));

    public ClusterState Cluster(string endpoint, string deployment)
    {
        Assert.True(Service<IProxyStateLookup>().TryGetCluster(ProxyConfigProvider.ClusterId(endpoint, deployment), out var cluster));
        return cluster;
    }

    public Task<HttpResponseMessage> InferAsync(string endpoint, string body, Action<HttpRequestMessage>? configure = null, string? pinned = null)
    {
        var path = pinned is null ? $"/v2/models/{endpoint}/infer" : $"/v2/models/{endpoint}/versions/{pinned}/infer";
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        configure?.Invoke(request);
        return Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await ControlPlane.DisposeAsync();
    }

    public static DeploymentRoute Deployment(string name, int weight, params string[] replicaUrls) =>
        new(name, "model", 1, weight, new ModelSignature([], []), replicaUrls);

    /// <summary>A replica URL nobody listens on: connections are refused.</summary>
    public static string DeadReplica(string id)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}/replicas/{id}";
    }

    /// <summary>Waits up to <paramref name="seconds"/> for a condition met by background work.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for: {what}");
            await Task.Delay(20);
        }
    }
}

/// <summary>
/// A stand-in for a worker replica on a free local port: answers <c>{name}:{body length}</c>, after an optional delay
/// and with a chosen status, and records what it received.
/// </summary>
internal sealed class FakeReplica : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeReplica(WebApplication app, string name, Uri address)
    {
        _app = app;
        Name = name;
        Url = new Uri(address, $"replicas/{name}").ToString();
    }

    public string Name { get; }

    /// <summary>The replica's base URL, as a routing table lists it.</summary>
    public string Url { get; }

    public ConcurrentQueue<Received> Requests { get; } = new();

    public TimeSpan Delay { get; set; }

    public int Status { get; set; } = StatusCodes.Status200OK;

    public static async Task<FakeReplica> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeReplica? replica = null;
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            replica!.Requests.Enqueue(new Received(
                context.Request.Path,
                context.Request.Headers["x-mlgrid-shadow"].ToString(),
                body,
                context.Request.Method,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            if (replica.Delay > TimeSpan.Zero)
            {
                await Task.Delay(replica.Delay, context.RequestAborted);
            }

            context.Response.StatusCode = replica.Status;
            await context.Response.WriteAsync($"{replica.Name}:{body.Length}");
        });
        await app.StartAsync();
        replica = new FakeReplica(app, name, new Uri(app.Urls.First()));
        return replica;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record Received(string Path, string ShadowHeader, string Body, string Method, IReadOnlyDictionary<string, string> Headers);
}

/// <summary>An audit trail in memory, which can be told to fail for a while.</summary>
internal sealed class RecordingAuditSink : IAuditSink
{
    public ConcurrentQueue<AuditEvent> Events { get; } = new();

    /// <summary>Calls that fail before the sink stores anything again.</summary>
    public int FailuresLeft;

    public int Calls;

    public Task AppendAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        if (Interlocked.Decrement(ref FailuresLeft) >= 0)
        {
            throw new InvalidOperationException("audit log unreachable");
        }

        foreach (var e in events)
        {
            Events.Enqueue(e);
        }

        return Task.CompletedTask;
    }
}

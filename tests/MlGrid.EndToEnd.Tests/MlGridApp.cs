using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

/// <summary>One running MlGrid (the real AppHost: Azurite, control plane, two workers, gateway) on a data folder.</summary>
public sealed class MlGridApp : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private MlGridApp(DistributedApplication app, HttpClient gateway, HttpClient anonymous, string dataDirectory, LogCapture logs)
    {
        App = app;
        Gateway = gateway;
        Anonymous = anonymous;
        DataDirectory = dataDirectory;
        Logs = logs;
    }

    public DistributedApplication App { get; }

    /// <summary>A client of the gateway that sends the admin key.</summary>
    public HttpClient Gateway { get; }

    /// <summary>A client of the gateway that sends no key.</summary>
    public HttpClient Anonymous { get; }

    public string DataDirectory { get; }

    /// <summary>Every line the resources (control plane, workers, gateway, Azurite) wrote, as the AppHost forwards them.</summary>
    public LogCapture Logs { get; }

    /// <summary>Starts the AppHost on the data folder; <paramref name="settings"/> adds local settings (NAME=value).</summary>
    public static async Task<MlGridApp> StartAsync(string dataDirectory, string adminKey, params string[] settings)
    {
        var port = Polling.FreePort();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.MlGrid_AppHost>(
        [
            $"MLGRID_DATA_DIR={dataDirectory}",
            $"MLGRID_ADMIN_KEY={adminKey}",
            $"MLGRID_GATEWAY_PORT={port}",
            .. settings,
        ]);
        var logs = new LogCapture();
        builder.Services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.AddProvider(logs);
            logging.AddFilter<LogCapture>(null, LogLevel.Trace);
        });

        var app = await builder.BuildAsync();
        using var cts = new CancellationTokenSource(StartTimeout);
        try
        {
            await app.StartAsync(cts.Token);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("gateway", cts.Token);
        }
        catch (Exception ex) when (ex is DistributedApplicationException or OperationCanceledException)
        {
            // Say why: the last lines the resources wrote (a process that exits at start tells it there).
            var tail = string.Join('\n', logs.Lines.TakeLast(60));
            await app.DisposeAsync();
            throw new InvalidOperationException($"MlGrid did not start (gateway port {port}): {ex.Message}\nLast resource log lines:\n{tail}", ex);
        }

        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var gateway = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        gateway.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        var anonymous = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var started = new MlGridApp(app, gateway, anonymous, dataDirectory, logs);
        await started.WaitUntilAsync(async () => (await anonymous.GetAsync("/v2/health/ready")).IsSuccessStatusCode, StartTimeout);
        return started;
    }

    /// <summary>A client of the gateway that sends the given key.</summary>
    public HttpClient WithKey(string key)
    {
        var client = new HttpClient { BaseAddress = Gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Creates an API key as the admin; returns its id and the secret key (shown this once).</summary>
    public async Task<(string Id, string Key)> CreateKeyAsync(
        string role, string[]? endpoints = null, DateTimeOffset? expiresAt = null, int? requestsPerSecond = null, string? name = null)
    {
        using var response = await Gateway.PostAsJsonAsync("/api/v1/keys", new
        {
            name = name ?? TestNames.Unique(role),
            role,
            endpoints,
            expiresAt,
            requestsPerSecond,
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Creating a {role} key gave {(int)response.StatusCode}: {body}");
        var json = JsonDocument.Parse(body).RootElement;
        return (json.GetProperty("id").GetString()!, json.GetProperty("key").GetString()!);
    }

    /// <summary>The storage account the app runs on (Azurite), to look at or tamper with what is stored.</summary>
    public async Task<Azure.Storage.Blobs.BlobServiceClient> StorageAsync() =>
        new(await App.GetConnectionStringAsync("storage") ?? throw new InvalidOperationException("No storage connection string."));

    public async Task<JsonElement> UploadModelAsync(string name, byte[] onnx)
    {
        using var content = new ByteArrayContent(onnx);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await Gateway.PostAsync($"/api/v1/models/{name}/versions", content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Upload of {name} gave {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>PUTs an endpoint and waits until every replica of every deployment is Ready.</summary>
    public async Task<JsonElement> DeployAsync(string endpoint, object spec)
    {
        using var response = await Gateway.PutAsJsonAsync($"/api/v1/endpoints/{endpoint}", spec);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Deploy of {endpoint} gave {(int)response.StatusCode}: {body}");
        return await WaitForReadyAsync(endpoint);
    }

    public async Task<JsonElement> WaitForReadyAsync(string endpoint)
    {
        JsonElement last = default;
        await WaitUntilAsync(async () =>
        {
            last = await Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/endpoints/{endpoint}");
            var ready = last.GetProperty("deployments").EnumerateArray().All(d =>
                d.GetProperty("replicaStatus").EnumerateArray().All(r => r.GetProperty("status").GetString() == "Ready"));
            if (!ready || !(await Gateway.GetAsync($"/v2/models/{endpoint}/ready")).IsSuccessStatusCode)
            {
                return false;
            }

            // The gateway's own table must have every deployment's replicas too, not only the control plane's view.
            foreach (var deployment in last.GetProperty("deployments").EnumerateArray())
            {
                using var pinned = await Gateway.GetAsync($"/v2/models/{endpoint}/versions/{deployment.GetProperty("name").GetString()}/ready");
                if (!pinned.IsSuccessStatusCode)
                {
                    return false;
                }
            }

            return true;
        }, TimeSpan.FromSeconds(90), () => $"Endpoint {endpoint} did not become ready: {last}");
        return last;
    }

    public async Task<HttpResponseMessage> InferAsync(string endpoint, object request) =>
        await Gateway.PostAsJsonAsync($"/v2/models/{endpoint}/infer", request);

    /// <summary>PATCHes an endpoint's traffic and returns the endpoint view it answers with.</summary>
    public async Task<JsonElement> PatchTrafficAsync(string endpoint, object change)
    {
        using var response = await Gateway.PatchAsJsonAsync($"/api/v1/endpoints/{endpoint}/traffic", change);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PATCH traffic of {endpoint} gave {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Runs an Aspire resource command (start, stop) on one resource, e.g. the control plane.</summary>
    public async Task ExecuteCommandAsync(string resource, string command)
    {
        var result = await App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(resource, command);
        Assert.True(result.Success, $"Command {command} on {resource} failed: {result.Message}");
    }

    /// <summary>The id of the process listening on a local TCP port (Linux), so a test can kill a worker outright.</summary>
    public static int ProcessListeningOn(int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket inode.
                if (fields.Length > 9 && fields[3] == "0A"
                    && int.Parse(fields[1].Split(':')[1], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) == port)
                {
                    inodes.Add($"socket:[{fields[9]}]");
                }
            }
        }

        Assert.True(inodes.Count > 0, $"Nothing listens on port {port}.");
        foreach (var process in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(process), out var pid))
            {
                continue;
            }

            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(process, "fd")))
                {
                    if (new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target))
                    {
                        return pid;
                    }
                }
            }
            catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
            {
                // Processes come and go, and some are not ours to look into.
            }
        }

        Assert.Fail($"No process found listening on port {port}.");
        return 0;
    }

    public Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string>? describe = null) =>
        Polling.WaitUntilAsync(condition, timeout, describe);

    public async ValueTask DisposeAsync()
    {
        Gateway.Dispose();
        Anonymous.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    public static string NewDataDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "mlgrid-e2e", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}

/// <summary>Keeps every log line of the app's resources in memory so tests can search them (for secrets, say).</summary>
public sealed class LogCapture : ILoggerProvider
{
    private const int MaxLines = 500_000;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Capturing(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > MaxLines && _lines.TryDequeue(out _))
        {
        }
    }

    private sealed class Capturing(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        /// <summary>
        /// Everything the resources write (forwarded under <c>….Resources.&lt;name&gt;</c>), and what the AppHost logs at
        /// Information and above; not the orchestrator's own debug tracing of its resource model.
        /// </summary>
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information || category.Contains(".Resources.", StringComparison.Ordinal);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner.Add($"{category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
            }
        }
    }
}

/// <summary>One MlGrid shared by the tests of the end-to-end collection; each test uses its own model and endpoint names.</summary>
public sealed class MlGridFixture : IAsyncLifetime
{
    public const string AdminKey = "e2e-admin-key-0123456789abcdef";

    public MlGridApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await MlGridApp.StartAsync(MlGridApp.NewDataDirectory(), AdminKey);

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<MlGridFixture>
{
    public const string Name = "end-to-end";
}

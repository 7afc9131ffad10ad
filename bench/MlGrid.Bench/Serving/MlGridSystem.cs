using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using MlGrid.Testing;

namespace MlGrid.Bench.Serving;

/// <summary>
/// The real system started from the AppHost in this process (Azurite, control plane, one worker, gateway) on a fresh
/// temporary data folder, a free gateway port and a generated admin key.
/// </summary>
internal sealed class MlGridSystem : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(4);

    private readonly DistributedApplication _app;
    private readonly HttpClient _management;

    private MlGridSystem(DistributedApplication app, Uri gateway, string adminKey, string dataDirectory)
    {
        _app = app;
        Gateway = gateway;
        AdminKey = adminKey;
        DataDirectory = dataDirectory;
        _management = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromMinutes(5) };
        _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
    }

    public Uri Gateway { get; }

    public string AdminKey { get; }

    public string DataDirectory { get; }

    /// <summary>
    /// Starts the system. <paramref name="serviceLogLevel"/>, when set, becomes <c>Logging__LogLevel__Default</c> of the
    /// control plane, worker and gateway; null leaves them as the AppHost configures them.
    /// </summary>
    public static async Task<MlGridSystem> StartAsync(string? serviceLogLevel, CancellationToken cancellationToken)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mlgrid-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var adminKey = "mlg_bench_" + RandomNumberGenerator.GetHexString(32, lowercase: true);
        var port = Polling.FreePort();

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.MlGrid_AppHost>(
        [
            $"MLGRID_DATA_DIR={dataDirectory}",
            $"MLGRID_ADMIN_KEY={adminKey}",
            $"MLGRID_GATEWAY_PORT={port}",
            // One worker, so calls through the gateway and calls straight to the replica reach the same process.
            "MLGRID_WORKERS=1",
        ], cancellationToken);
        // The services' console output reaches this process as resource logs: print only what they write to stderr.
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Aspire", LogLevel.Warning)
            .AddFilter("MlGrid.AppHost.Resources", LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        if (serviceLogLevel is not null)
        {
            foreach (var project in builder.Resources.OfType<ProjectResource>())
            {
                project.Annotations.Add(new EnvironmentCallbackAnnotation(context =>
                    context.EnvironmentVariables["Logging__LogLevel__Default"] = serviceLogLevel));
            }
        }

        var app = await builder.BuildAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("gateway", timeout.Token);

        var system = new MlGridSystem(app, new Uri($"http://127.0.0.1:{port}"), adminKey, dataDirectory);
        await Polling.WaitUntilAsync(async () => (await system._management.GetAsync("/v2/health/ready", timeout.Token)).IsSuccessStatusCode,
            StartTimeout, () => "The gateway never reported ready.", timeout.Token);
        return system;
    }

    /// <summary>Registers the ONNX bytes as a new version of <paramref name="model"/>; returns its version number.</summary>
    public async Task<int> UploadModelAsync(string model, byte[] onnx, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(onnx);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _management.PostAsync($"/api/v1/models/{model}/versions", content, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Upload of model {model} gave {(int)response.StatusCode}: {body}");
        }

        return JsonDocument.Parse(body).RootElement.GetProperty("version").GetInt32();
    }

    /// <summary>
    /// Deploys one version on one CPU replica, waits until it is Ready and the gateway routes to it, and returns the
    /// replica's base URL on its worker.
    /// </summary>
    public async Task<Uri> DeployAsync(string endpoint, string model, int version, CancellationToken cancellationToken)
    {
        var spec = new
        {
            deployments = new[] { new { name = "main", model, version = version.ToString(System.Globalization.CultureInfo.InvariantCulture), replicas = 1, device = "cpu" } },
            traffic = new Dictionary<string, int> { ["main"] = 100 },
        };
        using (var response = await _management.PutAsJsonAsync($"/api/v1/endpoints/{endpoint}", spec, cancellationToken))
        {
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw new InvalidOperationException($"Deploy of {endpoint} gave {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
        }

        JsonElement last = default;
        string? url = null;
        await Polling.WaitUntilAsync(async () =>
        {
            last = await _management.GetFromJsonAsync<JsonElement>($"/api/v1/endpoints/{endpoint}", cancellationToken);
            var replicas = last.GetProperty("deployments").EnumerateArray().SelectMany(d => d.GetProperty("replicaStatus").EnumerateArray()).ToList();
            if (replicas.Count == 0 || replicas.Any(r => r.GetProperty("status").GetString() != "Ready"))
            {
                return false;
            }

            url = replicas[0].TryGetProperty("url", out var u) ? u.GetString() : null;
            using var ready = await _management.GetAsync($"/v2/models/{endpoint}/ready", cancellationToken);
            return ready.IsSuccessStatusCode;
        }, ReadyTimeout, () => $"Endpoint {endpoint} did not become ready: {last}", cancellationToken);

        return url is null
            ? throw new InvalidOperationException($"Endpoint {endpoint} is ready but its replica has no URL: {last}")
            : new Uri(url.TrimEnd('/') + "/");
    }

    public async ValueTask DisposeAsync()
    {
        _management.Dispose();
        // Silos first, then storage: the AppHost stops resources in reverse dependency order.
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

using MlGrid.Contracts;
using MlGrid.Hosting;
using MlGrid.Hosting.Http;
using MlGrid.Inference;
using MlGrid.Worker.Apis;
using MlGrid.Worker.Grains;

namespace MlGrid.Worker;

public static class WorkerHostExtensions
{
    /// <summary>Joins the cluster as a worker silo, telling the control plane where it serves inference and whether it has a GPU.</summary>
    public static WebApplicationBuilder AddWorker(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(ModelHostOptions.Section).Get<ModelHostOptions>() ?? new ModelHostOptions();
        var inferenceUrl = options.InferenceUrl is { Length: > 0 } configured ? configured : ListenUrl(builder.Configuration);
        if (ListenEverywhere(builder.Configuration) is { } everywhere)
        {
            builder.WebHost.UseUrls(everywhere);
        }

        var (gpu, gpuDetail) = options.Gpu switch
        {
            "true" => (true, "forced on by Worker:Gpu"),
            "false" => (false, "forced off by Worker:Gpu"),
            _ => OnnxModel.ProbeCuda(),
        };

        var capacity = WorkerCapacity.Measure(gpu);
        builder.Services.AddSingleton(new WorkerDevice(gpu, gpuDetail));
        builder.Services.AddSingleton(capacity);
        builder.Services.AddSingleton(new WorkerIdentity(inferenceUrl));
        builder.Services.AddHostedService<WorkerStartupLog>();
        builder.Services.AddWorkerGrains();
        builder.Services.AddSingleton(sp => new InferenceMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "worker"));
        var metadata = new Dictionary<string, string>(capacity.ToMetadata())
        {
            [SiloRoles.InferenceUrlKey] = inferenceUrl,
            [TrainingSlots.MetadataKey] = options.TrainingSlots.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        builder.AddMlGridSilo(SiloRoles.Worker, metadata);
        return builder;
    }

    /// <summary>
    /// For a worker told to listen on localhost but advertised at another address (silos reached over the network),
    /// the same URLs on every interface, so gateways elsewhere reach what it publishes; otherwise null.
    /// </summary>
    public static string? ListenEverywhere(IConfiguration configuration)
    {
        var urls = configuration["ASPNETCORE_URLS"] ?? configuration["urls"];
        return urls is not null
            && urls.Contains("://localhost:", StringComparison.OrdinalIgnoreCase)
            && !System.Net.IPAddress.IsLoopback(OrleansHosting.AdvertisedAddress(configuration))
            ? urls.Replace("://localhost:", "://0.0.0.0:", StringComparison.OrdinalIgnoreCase)
            : null;
    }

    /// <summary>
    /// The first HTTP address this process listens on (ASPNETCORE_URLS, or ASPNETCORE_HTTP_PORTS as the container
    /// images set it), with wildcard and localhost hosts made the address this worker advertises to the cluster.
    /// </summary>
    public static string ListenUrl(IConfiguration configuration)
    {
        var ports = configuration["ASPNETCORE_HTTP_PORTS"] ?? configuration["http_ports"];
        var urls = configuration["ASPNETCORE_URLS"] ?? configuration["urls"]
            ?? (ports is { Length: > 0 } ? "http://+:" + ports.Split(';', ',')[0].Trim() : "http://127.0.0.1:5000");
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? urls.Split(';')[0];
        var uri = new UriBuilder(first.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal));
        if (uri.Host is "localhost" or "0.0.0.0" or "[::]")
        {
            uri.Host = OrleansHosting.AdvertisedAddress(configuration).ToString();
        }

        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }
}

/// <summary>What this worker told the cluster about itself.</summary>
public sealed record WorkerIdentity(string InferenceUrl);

internal sealed class WorkerStartupLog(WorkerIdentity identity, WorkerDevice device, WorkerCapacity capacity, TrainingHost training, ILogger<WorkerStartupLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Worker serving inference at {Url}; capacity: {Capacity}; training slots: {Slots}; GPU: {Gpu} ({Detail})",
            identity.InferenceUrl, capacity, training.Slots, device.HasGpu ? "yes, models run on the CUDA execution provider" : "no, models run on the CPU", device.Detail);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

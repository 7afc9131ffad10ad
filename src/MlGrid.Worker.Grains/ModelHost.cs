using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlGrid.Contracts;
using MlGrid.Hosting;
using MlGrid.Inference;

namespace MlGrid.Worker.Grains;

/// <summary>
/// The models this worker process serves. Each model version gets one long-lived ONNX Runtime session per device,
/// shared by every replica that uses it; loading runs in the background and is reported to the endpoint grain.
/// </summary>
public sealed class ModelHost(
    ArtifactStore artifacts,
    IGrainFactory grains,
    WorkerDevice device,
    IOptions<ModelHostOptions> options,
    ILogger<ModelHost> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, Replica> _replicas = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _downloads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SharedModel> _models = new(StringComparer.Ordinal);
    private readonly Lock _modelsLock = new();

    public Replica? Find(string replicaId) => _replicas.GetValueOrDefault(replicaId);

    public IReadOnlyCollection<Replica> Replicas => [.. _replicas.Values];

    /// <summary>Starts loading a replica unless it is already here; returns where it stands now.</summary>
    public ReplicaReport Ensure(ReplicaAssignment assignment)
    {
        var added = false;
        var replica = _replicas.GetOrAdd(assignment.ReplicaId, _ =>
        {
            added = true;
            return new Replica(assignment);
        });

        if (added)
        {
            // Detached from the caller's request context: the load outlives the grain call that asked for it.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(() => LoadAsync(replica));
            }
        }
        else if (replica.Report.Status == DeploymentStatus.Failed && _replicas.TryRemove(new(assignment.ReplicaId, replica)))
        {
            // Asked again after a failure: try again from scratch.
            return Ensure(assignment);
        }

        return replica.Report;
    }

    public void Remove(string replicaId)
    {
        if (_replicas.TryRemove(replicaId, out var replica))
        {
            replica.Stopping.Cancel();
            if (replica.Model is not null)
            {
                Release(Key(replica.Assignment.Sha256, replica.Assignment.Device));
            }

            logger.LogInformation("Replica {Replica} removed", replicaId);
        }
    }

    /// <summary>Loads a stored model file on the CPU just to read its signature.</summary>
    public async Task<(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs)> InspectAsync(string sha256, CancellationToken cancellationToken)
    {
        var path = await DownloadAsync(sha256, cancellationToken);
        try
        {
            return await Task.Run(() =>
            {
                using var model = OnnxModel.Load(path, DevicePreference.Cpu);
                return (model.Inputs, model.Outputs);
            }, cancellationToken);
        }
        catch (ModelLoadException)
        {
            // A file that does not load is never served; drop it from the cache too.
            _downloads.TryRemove(sha256, out _);
            TryDelete(path);
            throw;
        }
    }

    public void Dispose()
    {
        lock (_modelsLock)
        {
            foreach (var shared in _models.Values)
            {
                shared.Model.Dispose();
            }

            _models.Clear();
        }
    }

    private async Task LoadAsync(Replica replica)
    {
        var assignment = replica.Assignment;
        var token = replica.Stopping.Token;
        try
        {
            logger.LogInformation("Loading replica {Replica}: model {Model} version {Version} on device {Device}",
                assignment.ReplicaId, assignment.Model, assignment.ModelVersion, assignment.Device);
            var path = await DownloadAsync(assignment.Sha256, token);
            var model = Acquire(assignment, path);
            token.ThrowIfCancellationRequested();
            replica.MarkReady(model);
            logger.LogInformation("Replica {Replica} ready on {Provider}{Fallback}", assignment.ReplicaId, model.ExecutionProvider,
                model.FallbackReason is null ? "" : $" ({model.FallbackReason})");
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Replica {Replica} failed to load", assignment.ReplicaId);
            replica.MarkFailed(ex is ModelLoadException ? ex.Message : $"Loading failed: {ex.Message}");
        }

        await ReportAsync(replica, token);
    }

    private OnnxModel Acquire(ReplicaAssignment assignment, string path)
    {
        var key = Key(assignment.Sha256, assignment.Device);
        lock (_modelsLock)
        {
            if (_models.TryGetValue(key, out var shared))
            {
                shared.References++;
                return shared.Model;
            }
        }

        // Loading and warming happen outside the lock; a concurrent load of the same key keeps the first.
        var preference = assignment.Device switch
        {
            Devices.Cpu => DevicePreference.Cpu,
            Devices.Gpu when !device.HasGpu => throw new ModelLoadException($"The deployment asks for a GPU but this worker has none ({device.Detail})."),
            Devices.Gpu => DevicePreference.Gpu,
            _ => device.HasGpu ? DevicePreference.Auto : DevicePreference.Cpu,
        };
        var model = OnnxModel.Load(path, preference);
        model.Warmup();
        lock (_modelsLock)
        {
            if (_models.TryGetValue(key, out var winner))
            {
                model.Dispose();
                winner.References++;
                return winner.Model;
            }

            _models[key] = new SharedModel(model);
            return model;
        }
    }

    private void Release(string key)
    {
        lock (_modelsLock)
        {
            if (_models.TryGetValue(key, out var shared) && --shared.References == 0)
            {
                _models.Remove(key);
                shared.Model.Dispose();
            }
        }
    }

    private async Task ReportAsync(Replica replica, CancellationToken cancellationToken)
    {
        var endpoint = grains.GetGrain<IEndpointGrain>(replica.Assignment.Endpoint);
        for (var attempt = 1; !cancellationToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await endpoint.ReportReplica(replica.Report);
                return;
            }
            catch (Exception ex) when (attempt < 10)
            {
                // The control plane may be restarting; it also asks again when it comes back.
                logger.LogWarning(ex, "Could not report replica {Replica} (attempt {Attempt})", replica.Assignment.ReplicaId, attempt);
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }

    private async Task<string> DownloadAsync(string sha256, CancellationToken cancellationToken)
    {
        var path = Path.Combine(options.Value.CacheDirectory, sha256 + ".onnx");
        if (File.Exists(path))
        {
            return path;
        }

        var download = _downloads.GetOrAdd(sha256, hash => new Lazy<Task<string>>(async () =>
        {
            Directory.CreateDirectory(options.Value.CacheDirectory);
            await artifacts.DownloadToAsync(hash, path, CancellationToken.None);
            return path;
        }));
        try
        {
            return await download.Value.WaitAsync(cancellationToken);
        }
        catch
        {
            _downloads.TryRemove(sha256, out _);
            throw;
        }
    }

    private static string Key(string sha256, string device) => $"{sha256}|{device}";

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

    private sealed class SharedModel(OnnxModel model)
    {
        public OnnxModel Model { get; } = model;

        public int References { get; set; } = 1;
    }
}

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
    ILocalSiloDetails silo,
    IOptions<ModelHostOptions> options,
    BatchingMetrics batchingMetrics,
    ILogger<ModelHost> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, Replica> _replicas = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _downloads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LoadedModel> _models = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly string _worker = silo.SiloAddress.ToParsableString();

    public Replica? Find(string replicaId) => _replicas.GetValueOrDefault(replicaId);

    public IReadOnlyCollection<Replica> Replicas => [.. _replicas.Values];

    /// <summary>This worker's id: its silo address.</summary>
    public string Worker => _worker;

    /// <summary>
    /// Starts loading a replica unless it is already here with the same model, device and batching; a failed one is
    /// tried again. Returns where it stands now.
    /// </summary>
    public ReplicaReport Ensure(ReplicaAssignment assignment)
    {
        lock (_lock)
        {
            if (_replicas.TryGetValue(assignment.ReplicaId, out var existing))
            {
                var same = existing.Assignment.Sha256 == assignment.Sha256
                    && existing.Assignment.Device == assignment.Device
                    && Equals(existing.Assignment.Batching, assignment.Batching);
                if (same && existing.Report.Status != DeploymentStatus.Failed)
                {
                    return existing.Report;
                }

                RemoveLocked(existing);
            }

            var replica = new Replica(assignment, _worker);
            _replicas[assignment.ReplicaId] = replica;

            // Detached from the caller's request context: the load outlives the grain call that asked for it.
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(() => LoadAsync(replica));
            }

            return replica.Report;
        }
    }

    public void Remove(string replicaId)
    {
        lock (_lock)
        {
            if (_replicas.TryGetValue(replicaId, out var replica))
            {
                RemoveLocked(replica);
                logger.LogInformation("Replica {Replica} removed", replicaId);
            }
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
        lock (_lock)
        {
            foreach (var replica in _replicas.Values)
            {
                replica.Stop();
            }

            foreach (var loaded in _models.Values)
            {
                loaded.Retire();
            }

            _models.Clear();
            _replicas.Clear();
        }
    }

    private void RemoveLocked(Replica replica)
    {
        _replicas.TryRemove(new(replica.Assignment.ReplicaId, replica));
        replica.Stop();
        if (replica.Model is not null)
        {
            ReleaseLocked(Key(replica.Assignment));
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
            var loaded = Acquire(assignment, path);
            var batcher = assignment.Batching is null ? null : new DynamicBatcher(assignment, loaded, batchingMetrics, logger);
            lock (_lock)
            {
                if (token.IsCancellationRequested)
                {
                    // Removed while loading: give back the reference it took.
                    ReleaseLocked(Key(assignment));
                    return;
                }

                replica.MarkReady(loaded, batcher);
            }

            logger.LogInformation("Replica {Replica} ready on {Provider}{Fallback}", assignment.ReplicaId, loaded.Model.ExecutionProvider,
                loaded.Model.FallbackReason is null ? "" : $" ({loaded.Model.FallbackReason})");
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

    private LoadedModel Acquire(ReplicaAssignment assignment, string path)
    {
        var key = Key(assignment);
        lock (_lock)
        {
            if (_models.TryGetValue(key, out var shared))
            {
                shared.References++;
                return shared;
            }
        }

        var preference = assignment.Device switch
        {
            Devices.Cpu => DevicePreference.Cpu,
            Devices.Gpu when !device.HasGpu => throw new ModelLoadException($"The deployment asks for a GPU but this worker has none ({device.Detail})."),
            Devices.Gpu => DevicePreference.Gpu,
            _ => device.HasGpu ? DevicePreference.Auto : DevicePreference.Cpu,
        };

        // Loading and warming happen outside the lock; a concurrent load of the same key keeps the first.
        var model = OnnxModel.Load(path, preference);
        try
        {
            model.Warmup();
        }
        catch
        {
            model.Dispose();
            throw;
        }

        lock (_lock)
        {
            if (_models.TryGetValue(key, out var winner))
            {
                model.Dispose();
                winner.References++;
                return winner;
            }

            var loaded = new LoadedModel(model);
            _models[key] = loaded;
            return loaded;
        }
    }

    private void ReleaseLocked(string key)
    {
        if (_models.TryGetValue(key, out var shared) && --shared.References == 0)
        {
            _models.Remove(key);
            shared.Retire();
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

        // The file is gone (or never came): a finished download of it is stale.
        if (_downloads.TryGetValue(sha256, out var previous) && previous.IsValueCreated && previous.Value.IsCompleted)
        {
            _downloads.TryRemove(new(sha256, previous));
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
            _downloads.TryRemove(new(sha256, download));
            throw;
        }
    }

    private static string Key(ReplicaAssignment assignment) => $"{assignment.Sha256}|{assignment.Device}";

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
}

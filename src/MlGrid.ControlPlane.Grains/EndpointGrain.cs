using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using Orleans.Runtime.Placement;

namespace MlGrid.ControlPlane.Grains;

/// <summary>
/// An online endpoint. It keeps the declared spec, places each deployment's replicas on live workers, tracks what
/// the workers report, and publishes the ready replicas to the routing table.
/// </summary>
[GrainType("mlgrid.endpoint")]
public sealed class EndpointGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<EndpointState> state,
    IWorkerCatalog workers,
    ILogger<EndpointGrain> logger) : Grain, IEndpointGrain
{
    /// <summary>How often placements are checked against live workers.</summary>
    public static readonly TimeSpan ReconcilePeriod = TimeSpan.FromSeconds(3);

    /// <summary>How long a replica that failed to load waits before it is tried again.</summary>
    private static readonly TimeSpan FailedRetryDelay = TimeSpan.FromSeconds(30);

    private const string UnreachablePrefix = "Worker unreachable";

    /// <summary>The component named in the audit trail for what this grain does on its own.</summary>
    private const string AuditComponent = "endpoint";

    /// <summary>How long one call to a worker may take before the replica is reported unreachable.</summary>
    private static readonly TimeSpan WorkerCallTimeout = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, ReplicaRuntime> _replicas = new(StringComparer.Ordinal);

    /// <summary>Replaced replicas already taken out of the routes, removed from their workers on the next pass.</summary>
    private readonly HashSet<string> _draining = new(StringComparer.Ordinal);

    /// <summary>Replicas whose worker left the cluster and that wait for a new one, with the worker they lost.</summary>
    private readonly Dictionary<string, string> _awaitingReplacement = new(StringComparer.Ordinal);

    private IGrainTimer? _timer;

    private string Name => this.GetPrimaryKeyString();

    private bool Exists => state.State.Spec is not null;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Exists)
        {
            StartReconciling();
        }

        return Task.CompletedTask;
    }

    public async Task<EndpointView> Apply(EndpointSpec spec)
    {
        Names.EnsureValid(Name, "endpoint");
        var weights = EndpointSpecValidator.Validate(spec);
        var resolved = new List<ResolvedDeployment>(spec.Deployments.Count);
        foreach (var deployment in spec.Deployments)
        {
            var version = await GrainFactory.GetGrain<IModelGrain>(deployment.Model).GetVersion(deployment.Version)
                ?? throw RequestException.Invalid(
                    $"Deployment '{deployment.Name}': model '{deployment.Model}' has no version or alias '{deployment.Version}'.");
            if (version is not { Sha256: { } sha256, Signature: { } signature })
            {
                throw RequestException.Invalid(
                    $"Deployment '{deployment.Name}': model '{deployment.Model}' version {version.Version} has no ONNX file, so it cannot be served " +
                    $"({version.StatusMessage ?? "no ONNX file was found in its source"}). Register a version whose artifacts hold a .onnx file.");
            }

            resolved.Add(new ResolvedDeployment(
                deployment.Name,
                deployment.Model,
                deployment.Version,
                version.Version,
                sha256,
                signature,
                deployment.Replicas,
                deployment.Device,
                weights[deployment.Name],
                deployment.Batching is { MaxBatchSize: > 1 } ? deployment.Batching : null));
        }

        await GrainFactory.GetGrain<IEndpointCatalogGrain>(IEndpointCatalogGrain.Key).Add(Name);

        var now = DateTimeOffset.UtcNow;
        var previous = (state.State.Spec, state.State.Deployments, state.State.Generation, state.State.UpdatedAt, state.State.CreatedAt);
        if (!Exists)
        {
            state.State.CreatedAt = now;
        }

        state.State.Spec = spec;
        state.State.Deployments = resolved;
        state.State.Generation++;
        state.State.UpdatedAt = now;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            (state.State.Spec, state.State.Deployments, state.State.Generation, state.State.UpdatedAt, state.State.CreatedAt) = previous;
            throw;
        }

        logger.LogInformation("Endpoint {Endpoint} generation {Generation}: {Deployments}", Name, state.State.Generation,
            string.Join(", ", resolved.Select(d => $"{d.Name}={d.Model}:{d.ModelVersion}x{d.Replicas}@{d.Weight}%")));
        foreach (var replica in _replicas.Values)
        {
            replica.RetryAt = DateTimeOffset.MinValue;
        }

        StartReconciling();
        await ReconcileAsync(CancellationToken.None);
        return View();
    }

    public async Task<EndpointView> SetTraffic(TrafficChange change)
    {
        if (!Exists)
        {
            throw RequestException.NotFound($"Endpoint '{Name}' does not exist.");
        }

        var spec = state.State.Spec!;
        var traffic = state.State.Deployments.ToDictionary(d => d.Name, d => d.Weight, StringComparer.Ordinal);
        foreach (var (name, weight) in change.Weights)
        {
            traffic[name] = weight;
        }

        var updated = spec with { Traffic = traffic, Mirror = change.SetMirror ? change.Mirror : spec.Mirror };
        var weights = EndpointSpecValidator.Validate(updated);

        var previous = (state.State.Spec, state.State.Deployments, state.State.Generation, state.State.UpdatedAt);
        state.State.Spec = updated;
        state.State.Deployments = state.State.Deployments.Select(d => d with { Weight = weights[d.Name] }).ToList();
        state.State.Generation++;
        state.State.UpdatedAt = DateTimeOffset.UtcNow;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            (state.State.Spec, state.State.Deployments, state.State.Generation, state.State.UpdatedAt) = previous;
            throw;
        }

        logger.LogInformation("Endpoint {Endpoint} generation {Generation} traffic: {Weights}{Mirror}", Name, state.State.Generation,
            string.Join(", ", state.State.Deployments.Select(d => $"{d.Name}={d.Weight}%")),
            updated.Mirror is { } m ? $"; mirror {m.Percent}% to {m.Deployment}" : "");
        await PublishRouteAsync();
        return View();
    }

    public Task<EndpointView?> Get() => Task.FromResult(Exists ? View() : null);

    public async Task<bool> Delete()
    {
        if (!Exists)
        {
            return false;
        }

        // Traffic stops first and the state goes last: a failure midway leaves an endpoint that can be deleted again.
        _timer?.Dispose();
        _timer = null;
        await GrainFactory.GetGrain<IRoutingTableGrain>(IRoutingTableGrain.Key).Remove(Name);
        foreach (var placement in state.State.Placements)
        {
            await RemoveFromWorkerAsync(placement);
        }

        await state.ClearStateAsync();
        state.State = new EndpointState();
        _replicas.Clear();
        _draining.Clear();
        _awaitingReplacement.Clear();
        await GrainFactory.GetGrain<IEndpointCatalogGrain>(IEndpointCatalogGrain.Key).Remove(Name);
        logger.LogInformation("Endpoint {Endpoint} deleted", Name);
        DeactivateOnIdle();
        return true;
    }

    public Task Resume() => Exists ? ReconcileAsync(CancellationToken.None) : Task.CompletedTask;

    public async Task ReportReplica(ReplicaReport report)
    {
        if (!_replicas.TryGetValue(report.ReplicaId, out var replica)
            || state.State.Placements.FirstOrDefault(p => p.Id == report.ReplicaId) is not { } placement
            || (report.Worker is not null && report.Worker != placement.WorkerId))
        {
            // Not (or no longer) placed where the report comes from: a late word from a replaced copy.
            return;
        }

        if (replica.Status != report.Status)
        {
            logger.LogInformation("Endpoint {Endpoint} replica {Replica}: {Status} {Reason}", Name, report.ReplicaId, report.Status, report.Reason);
        }

        replica.Apply(report);
        await PublishRouteAsync();
    }

    public Task<bool> WantsReplica(string replicaId, string worker) =>
        Task.FromResult(state.State.Placements.Any(p => p.Id == replicaId && p.WorkerId == worker));

    private void StartReconciling() =>
        _timer ??= this.RegisterGrainTimer(
            ReconcileAsync,
            new GrainTimerCreationOptions(ReconcilePeriod, ReconcilePeriod) { KeepAlive = true });

    /// <summary>
    /// Brings placements in line with the spec and the live workers, then republishes the route. Replicas that are
    /// not Ready are asked for again on every pass (the worker's answer is idempotent); failed ones after a pause.
    /// </summary>
    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return;
        }

        var live = workers.LiveWorkers().ToDictionary(w => w.Id, StringComparer.Ordinal);
        var desired = state.State.Deployments
            .SelectMany(d => Enumerable.Range(0, d.Replicas).Select(i => (Deployment: d, Id: ReplicaId(d, i))))
            .ToList();
        var desiredIds = desired.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var placementsChanged = false;
        var audit = new List<AuditEvent>();
        var lostNow = new HashSet<string>(StringComparer.Ordinal);

        // Placements on silos that left the cluster are gone; a live silo whose metadata is not cached yet is not.
        foreach (var lost in state.State.Placements.Where(p => !workers.IsActive(p.WorkerId)).ToList())
        {
            logger.LogWarning("Endpoint {Endpoint} replica {Replica} lost its worker {Worker}", Name, lost.Id, lost.WorkerId);
            state.State.Placements.Remove(lost);
            _replicas.Remove(lost.Id);
            _draining.Remove(lost.Id);
            if (desiredIds.Contains(lost.Id))
            {
                _awaitingReplacement[lost.Id] = lost.WorkerId;
                lostNow.Add(lost.Id);
            }

            placementsChanged = true;
        }

        var toEnsure = new List<(ReplicaPlacement Placement, ResolvedDeployment Deployment)>();
        foreach (var (deployment, id) in desired)
        {
            var placement = state.State.Placements.FirstOrDefault(p => p.Id == id);
            if (placement is null)
            {
                var worker = ChooseWorker(deployment, live.Values);
                if (worker is null)
                {
                    var reason = NoWorkerReason(deployment, live.Count);
                    Runtime(id).Apply(new ReplicaReport(id, DeploymentStatus.Pending, reason, null));
                    if (lostNow.Contains(id))
                    {
                        audit.Add(ReplicaEvent("endpoint.replica-replaced", deployment.Name, AuditOutcomes.Failed,
                            $"Replica {id} lost its worker {_awaitingReplacement[id]}; no worker to place it on yet. {reason}"));
                    }

                    continue;
                }

                placement = new ReplicaPlacement(id, deployment.Name, worker.Id, worker.InferenceUrl);
                state.State.Placements.Add(placement);
                _replicas.Remove(id);
                placementsChanged = true;
                if (_awaitingReplacement.Remove(id, out var lostWorker))
                {
                    audit.Add(ReplicaEvent("endpoint.replica-replaced", deployment.Name, AuditOutcomes.Succeeded,
                        $"Replica {id} lost its worker {lostWorker}; placed again on worker {worker.Id}."));
                }
            }

            var replica = Runtime(id);
            if (replica.Status != DeploymentStatus.Ready && DateTimeOffset.UtcNow >= replica.RetryAt)
            {
                toEnsure.Add((placement, deployment));
            }
        }

        // Placements are stored before any worker is asked, so a restart finds every copy it started.
        if (placementsChanged)
        {
            await state.WriteStateAsync(cancellationToken);
            placementsChanged = false;
        }

        // Workers are asked in parallel, each call bounded, so a dead worker cannot hold the endpoint (and a
        // traffic change waiting behind this pass) for long.
        var reports = await Task.WhenAll(toEnsure.Select(e => EnsureOnWorkerAsync(e.Placement, e.Deployment)));
        foreach (var report in reports)
        {
            var replica = Runtime(report.ReplicaId);
            replica.Apply(report);
            replica.RetryAt = replica.Status == DeploymentStatus.Failed ? DateTimeOffset.UtcNow + FailedRetryDelay : DateTimeOffset.MinValue;
        }

        // Replaced replicas keep serving until their deployment's new replicas are all ready (a surge rollout).
        foreach (var stale in state.State.Placements.Where(p => !desiredIds.Contains(p.Id)).ToList())
        {
            var successors = desired.Where(r => r.Deployment.Name == stale.Deployment).ToList();
            var successorsReady = successors.Count > 0
                && successors.All(r => _replicas.TryGetValue(r.Id, out var s) && s.Status == DeploymentStatus.Ready);
            if (successors.Count > 0 && !successorsReady && IsReady(stale.Id))
            {
                continue;
            }

            // Drained first: this pass publishes routes without it, the next one removes it from its worker, so
            // no gateway still holds its address when it goes.
            if (_draining.Add(stale.Id) && IsReady(stale.Id))
            {
                continue;
            }

            await RemoveFromWorkerAsync(stale);
            state.State.Placements.Remove(stale);
            _replicas.Remove(stale.Id);
            _draining.Remove(stale.Id);
            placementsChanged = true;
            audit.Add(ReplicaEvent("endpoint.replica-removed", stale.Deployment, AuditOutcomes.Succeeded,
                successors.Count > 0
                    ? $"Replica {stale.Id} removed from worker {stale.WorkerId}: replaced by generation {state.State.Generation}."
                    : $"Replica {stale.Id} removed from worker {stale.WorkerId}: its deployment is no longer declared."));
        }

        // Replicas waiting for a replacement that the spec no longer wants will not get one.
        foreach (var id in _awaitingReplacement.Keys.Where(id => !desiredIds.Contains(id)).ToList())
        {
            _awaitingReplacement.Remove(id);
        }

        if (placementsChanged)
        {
            await state.WriteStateAsync(cancellationToken);
        }

        await PublishRouteAsync();
        await GrainFactory.RecordAsync(logger, audit);
    }

    private AuditEvent ReplicaEvent(string action, string deployment, string outcome, string detail) =>
        SystemAudit.Event(AuditComponent, action, $"endpoints/{Name}/deployments/{deployment}", outcome, detail);

    private bool IsReady(string replicaId) => _replicas.TryGetValue(replicaId, out var r) && r.Status == DeploymentStatus.Ready;

    private static string NoWorkerReason(ResolvedDeployment deployment, int liveWorkers) =>
        deployment.Device == Devices.Gpu
            ? $"Waiting for a worker with a GPU: none of the {liveWorkers} live worker(s) has one."
            : liveWorkers == 0
                ? "Waiting for a worker: no worker silo is up."
                : "Waiting for a worker with room for this replica.";

    private WorkerInfo? ChooseWorker(ResolvedDeployment deployment, IEnumerable<WorkerInfo> live)
    {
        var candidates = live.Where(w => deployment.Device != Devices.Gpu || w.HasGpu).ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var load = state.State.Placements.GroupBy(p => p.WorkerId).ToDictionary(g => g.Key, g => g.Count());
        var siblings = state.State.Placements.Where(p => p.Deployment == deployment.Name).Select(p => p.WorkerId).ToHashSet();
        return candidates
            .OrderBy(w => siblings.Contains(w.Id) ? 1 : 0)
            .ThenBy(w => deployment.Device == Devices.Auto && w.HasGpu ? 0 : 1)
            .ThenBy(w => load.GetValueOrDefault(w.Id))
            .ThenBy(_ => Random.Shared.Next())
            .First();
    }

    private async Task<ReplicaReport> EnsureOnWorkerAsync(ReplicaPlacement placement, ResolvedDeployment deployment)
    {
        var assignment = new ReplicaAssignment(
            placement.Id, Name, deployment.Name, deployment.Model, deployment.ModelVersion, deployment.Sha256, deployment.Device, deployment.Batching);
        try
        {
            return await CallWorkerAsync(placement.WorkerId, worker => worker.EnsureReplica(assignment), deployment.Device);
        }
        catch (Exception ex) when (ex is not RequestException)
        {
            logger.LogWarning(ex, "Endpoint {Endpoint} could not reach worker {Worker} for replica {Replica}", Name, placement.WorkerId, placement.Id);
            return new ReplicaReport(placement.Id, DeploymentStatus.Pending, $"{UnreachablePrefix}: {ex.Message}", null);
        }
    }

    private async Task RemoveFromWorkerAsync(ReplicaPlacement placement)
    {
        try
        {
            await CallWorkerAsync(placement.WorkerId, async worker =>
            {
                await worker.RemoveReplica(placement.Id);
                return true;
            });
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Endpoint {Endpoint} could not remove replica {Replica} from worker {Worker}", Name, placement.Id, placement.WorkerId);
        }
    }

    /// <summary>
    /// Calls the agent of one worker silo; the placement hint makes Orleans activate it on that silo, and the worker
    /// placement filter refuses a silo without a GPU when the device asks for one.
    /// </summary>
    private async Task<T> CallWorkerAsync<T>(string workerId, Func<IWorkerGrain, Task<T>> call, string device = Devices.Auto)
    {
        RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(workerId));
        RequestContext.Set(WorkerPlacement.DeviceKey, device);
        try
        {
            return await call(GrainFactory.GetGrain<IWorkerGrain>(workerId)).WaitAsync(WorkerCallTimeout);
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
            RequestContext.Remove(WorkerPlacement.DeviceKey);
        }
    }

    private async Task PublishRouteAsync()
    {
        if (!Exists)
        {
            return;
        }

        var routes = state.State.Deployments
            .Select(d => new DeploymentRoute(
                d.Name,
                d.Model,
                d.ModelVersion,
                d.Weight,
                d.Signature,
                ReadyUrls(d)))
            .ToList();
        await GrainFactory.GetGrain<IRoutingTableGrain>(IRoutingTableGrain.Key)
            .Publish(new EndpointRoute(Name, state.State.Generation, routes, state.State.Spec!.Sticky, state.State.Spec.Mirror, state.State.Spec.RateLimit));
    }

    /// <summary>The deployment's ready replicas; while none of its current ones is ready, the ready ones it replaces.</summary>
    private List<string> ReadyUrls(ResolvedDeployment deployment)
    {
        var current = Enumerable.Range(0, deployment.Replicas).Select(i => ReplicaId(deployment, i)).ToHashSet(StringComparer.Ordinal);
        var ready = state.State.Placements.Where(p => p.Deployment == deployment.Name && IsReady(p.Id) && !_draining.Contains(p.Id)).ToList();
        var serving = ready.Any(p => current.Contains(p.Id)) ? ready.Where(p => current.Contains(p.Id)) : ready;
        return serving
            .Select(ReplicaUrl)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Where a replica serves on its worker; the Open Inference Protocol path follows it.</summary>
    private static string ReplicaUrl(ReplicaPlacement placement) => $"{placement.WorkerUrl}/replicas/{Uri.EscapeDataString(placement.Id)}";

    private EndpointView View()
    {
        var deployments = state.State.Deployments.Select(d =>
        {
            var replicas = Enumerable.Range(0, d.Replicas)
                .Select(i =>
                {
                    var id = ReplicaId(d, i);
                    var placement = state.State.Placements.FirstOrDefault(p => p.Id == id);
                    var runtime = _replicas.GetValueOrDefault(id);
                    return new ReplicaView(
                        id,
                        placement?.WorkerId ?? "",
                        runtime?.Status ?? DeploymentStatus.Pending,
                        runtime?.Reason ?? (placement is null ? "Not placed yet." : null),
                        runtime?.ExecutionProvider,
                        placement is null ? null : ReplicaUrl(placement));
                })
                .ToList();
            var (status, reason) = Summarize(replicas);
            return new DeploymentView(d.Name, d.Model, d.ModelVersion, d.Replicas, d.Device, status, reason, replicas, d.Weight, d.Batching);
        }).ToList();

        return new EndpointView(Name, state.State.Spec!, deployments, state.State.Generation, state.State.CreatedAt, state.State.UpdatedAt);
    }

    private static (DeploymentStatus Status, string? Reason) Summarize(IReadOnlyList<ReplicaView> replicas)
    {
        var ready = replicas.Count(r => r.Status == DeploymentStatus.Ready);
        if (ready == replicas.Count)
        {
            return (DeploymentStatus.Ready, null);
        }

        if (ready > 0)
        {
            return (DeploymentStatus.Ready, $"{ready} of {replicas.Count} replicas ready.");
        }

        if (replicas.Any(r => r.Status == DeploymentStatus.Loading))
        {
            return (DeploymentStatus.Loading, null);
        }

        if (replicas.All(r => r.Status == DeploymentStatus.Failed))
        {
            return (DeploymentStatus.Failed, replicas[0].Reason);
        }

        return (DeploymentStatus.Pending, replicas.FirstOrDefault(r => r.Reason is not null)?.Reason);
    }

    private ReplicaRuntime Runtime(string id)
    {
        if (!_replicas.TryGetValue(id, out var runtime))
        {
            runtime = new ReplicaRuntime();
            _replicas[id] = runtime;
        }

        return runtime;
    }

    /// <summary>
    /// Stable per model version, device and batching, so a traffic-only change keeps the loaded replicas and a change
    /// of any of those rolls out new ones (the worker shares one session between them).
    /// </summary>
    internal string ReplicaId(ResolvedDeployment deployment, int index) =>
        $"{Name}~{deployment.Name}~{deployment.Model}~v{deployment.ModelVersion}~{deployment.Device}"
        + (deployment.Batching is { } b ? $"~b{b.MaxBatchSize}x{b.MaxDelayMs}ms" : "")
        + $"~{index}";

    private sealed class ReplicaRuntime
    {
        public DeploymentStatus Status { get; private set; } = DeploymentStatus.Pending;

        public string? Reason { get; private set; }

        public string? ExecutionProvider { get; private set; }

        /// <summary>When a failed replica may be asked for again.</summary>
        public DateTimeOffset RetryAt { get; set; } = DateTimeOffset.MinValue;

        public void Apply(ReplicaReport report)
        {
            Status = report.Status;
            Reason = report.Reason;
            ExecutionProvider = report.ExecutionProvider ?? ExecutionProvider;
        }
    }
}

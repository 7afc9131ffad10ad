namespace MlGrid.Contracts;

/// <summary>Where a deployment runs: any worker, or only workers with a GPU.</summary>
public static class Devices
{
    public const string Auto = "auto";
    public const string Cpu = "cpu";
    public const string Gpu = "gpu";

    public static bool IsKnown(string device) => device is Auto or Cpu or Gpu;
}

public enum DeploymentStatus
{
    Pending = 0,
    Loading = 1,
    Ready = 2,
    Failed = 3,
}

/// <summary>
/// Dynamic batching on the worker: concurrent requests are joined along the first (batch) dimension, up to
/// <see cref="MaxBatchSize"/> rows, waiting at most <see cref="MaxDelayMs"/> for more to arrive.
/// </summary>
[GenerateSerializer, Immutable, Alias("mlgrid.batching-spec")]
public sealed record BatchingSpec(
    [property: Id(0)] int MaxBatchSize,
    [property: Id(1)] int MaxDelayMs);

/// <summary>One variant of an endpoint as the user declares it; <see cref="Version"/> is a number or an alias.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.deployment-spec")]
public sealed record DeploymentSpec(
    [property: Id(0)] string Name,
    [property: Id(1)] string Model,
    [property: Id(2)] string Version,
    [property: Id(3)] int Replicas,
    [property: Id(4)] string Device,
    [property: Id(5)] BatchingSpec? Batching = null);

/// <summary>
/// Keeps each caller on one deployment: the key is read from a request header or a cookie (exactly one is set) and
/// hashed consistently, so a weight change moves only the keys it must.
/// </summary>
[GenerateSerializer, Immutable, Alias("mlgrid.sticky-spec")]
public sealed record StickySpec(
    [property: Id(0)] string? Header,
    [property: Id(1)] string? Cookie);

/// <summary>Shadow traffic: a copy of <see cref="Percent"/>% of requests goes to <see cref="Deployment"/>; its answers are discarded.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.mirror-spec")]
public sealed record MirrorSpec(
    [property: Id(0)] string Deployment,
    [property: Id(1)] int Percent);

/// <summary>At most this many inference calls a second (token bucket holding one second's worth) through each gateway.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.rate-limit-spec")]
public sealed record RateLimitSpec(
    [property: Id(0)] int RequestsPerSecond);

/// <summary>An endpoint as the user declares it: its deployments, the share of traffic each gets, stickiness and shadow traffic.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.endpoint-spec")]
public sealed record EndpointSpec(
    [property: Id(0)] IReadOnlyList<DeploymentSpec> Deployments,
    [property: Id(1)] IReadOnlyDictionary<string, int> Traffic,
    [property: Id(2)] StickySpec? Sticky = null,
    [property: Id(3)] MirrorSpec? Mirror = null,
    [property: Id(4)] RateLimitSpec? RateLimit = null);

/// <summary>
/// A change of traffic only (no replica moves): new weights for the named deployments (others keep theirs) and,
/// when <see cref="SetMirror"/> is true, a new mirror (null removes it).
/// </summary>
[GenerateSerializer, Immutable, Alias("mlgrid.traffic-change")]
public sealed record TrafficChange(
    [property: Id(0)] IReadOnlyDictionary<string, int> Weights,
    [property: Id(1)] bool SetMirror,
    [property: Id(2)] MirrorSpec? Mirror);

[GenerateSerializer, Immutable, Alias("mlgrid.replica-view")]
public sealed record ReplicaView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Worker,
    [property: Id(2)] DeploymentStatus Status,
    [property: Id(3)] string? Reason,
    [property: Id(4)] string? ExecutionProvider,
    [property: Id(5)] string? Url = null);

[GenerateSerializer, Immutable, Alias("mlgrid.deployment-view")]
public sealed record DeploymentView(
    [property: Id(0)] string Name,
    [property: Id(1)] string Model,
    [property: Id(2)] int ModelVersion,
    [property: Id(3)] int Replicas,
    [property: Id(4)] string Device,
    [property: Id(5)] DeploymentStatus Status,
    [property: Id(6)] string? Reason,
    [property: Id(7)] IReadOnlyList<ReplicaView> ReplicaStatus,
    [property: Id(8)] int Weight = 0,
    [property: Id(9)] BatchingSpec? Batching = null);

[GenerateSerializer, Immutable, Alias("mlgrid.endpoint-view")]
public sealed record EndpointView(
    [property: Id(0)] string Name,
    [property: Id(1)] EndpointSpec Spec,
    [property: Id(2)] IReadOnlyList<DeploymentView> Deployments,
    [property: Id(3)] long Generation,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset UpdatedAt);

/// <summary>What a worker tells the endpoint about one replica it hosts; <see cref="Worker"/> is the reporting silo.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.replica-report")]
public sealed record ReplicaReport(
    [property: Id(0)] string ReplicaId,
    [property: Id(1)] DeploymentStatus Status,
    [property: Id(2)] string? Reason,
    [property: Id(3)] string? ExecutionProvider,
    [property: Id(4)] string? Worker = null);

/// <summary>An online endpoint: its deployments, their replicas on workers, and its traffic split.</summary>
[Alias("mlgrid.endpoint")]
public interface IEndpointGrain : IGrainWithStringKey
{
    /// <summary>Validates and stores the spec, then schedules replicas; answers once the spec is persisted.</summary>
    [Alias("apply")]
    Task<EndpointView> Apply(EndpointSpec spec);

    /// <summary>Changes weights and mirror only; pushed to the gateways as a new routing-table version before it answers.</summary>
    [Alias("set-traffic")]
    Task<EndpointView> SetTraffic(TrafficChange change);

    /// <summary>The endpoint, or null when it does not exist.</summary>
    [Alias("get")]
    Task<EndpointView?> Get();

    /// <summary>Removes the endpoint and its replicas; false when it did not exist.</summary>
    [Alias("delete")]
    Task<bool> Delete();

    /// <summary>Brings replicas back after a restart; does nothing for an endpoint that does not exist.</summary>
    [Alias("resume")]
    Task Resume();

    [Alias("report-replica")]
    Task ReportReplica(ReplicaReport report);

    /// <summary>Whether the endpoint still wants this replica on this worker; workers drop the ones it does not.</summary>
    [Alias("wants-replica")]
    Task<bool> WantsReplica(string replicaId, string worker);
}

[Alias("mlgrid.endpoint-catalog")]
public interface IEndpointCatalogGrain : IGrainWithStringKey
{
    public const string Key = "default";

    [Alias("add")]
    Task Add(string name);

    [Alias("remove")]
    Task Remove(string name);

    [Alias("list")]
    Task<IReadOnlyList<string>> List();
}

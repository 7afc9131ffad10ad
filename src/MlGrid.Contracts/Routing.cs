namespace MlGrid.Contracts;

/// <summary>How a gateway reaches one deployment: its weight, its signature and the base URLs of its ready replicas.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.deployment-route")]
public sealed record DeploymentRoute(
    [property: Id(0)] string Name,
    [property: Id(1)] string Model,
    [property: Id(2)] int ModelVersion,
    [property: Id(3)] int Weight,
    [property: Id(4)] ModelSignature Signature,
    [property: Id(5)] IReadOnlyList<string> ReplicaUrls);

/// <summary>How a gateway routes one endpoint: its deployments, and optionally sticky keys and a shadow (mirror) deployment.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.endpoint-route")]
public sealed record EndpointRoute(
    [property: Id(0)] string Name,
    [property: Id(1)] long Generation,
    [property: Id(2)] IReadOnlyList<DeploymentRoute> Deployments,
    [property: Id(3)] StickySpec? Sticky = null,
    [property: Id(4)] MirrorSpec? Mirror = null,
    [property: Id(5)] RateLimitSpec? RateLimit = null);

/// <summary>Every endpoint's routes; <see cref="Version"/> grows with every change.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.routing-table-snapshot")]
public sealed record RoutingTable(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyDictionary<string, EndpointRoute> Endpoints)
{
    public static RoutingTable Empty { get; } = new(0, new Dictionary<string, EndpointRoute>());
}

/// <summary>Implemented by gateways to hear of routing changes as they happen.</summary>
[Alias("mlgrid.routing-observer")]
public interface IRoutingObserver : IGrainObserver
{
    [Alias("on-routing-changed")]
    void OnRoutingChanged(RoutingTable table);
}

/// <summary>The versioned routing table that gateways follow.</summary>
[Alias("mlgrid.routing-table")]
public interface IRoutingTableGrain : IGrainWithStringKey
{
    public const string Key = "default";

    [Alias("publish")]
    Task Publish(EndpointRoute route);

    [Alias("remove")]
    Task Remove(string endpoint);

    [Alias("get")]
    Task<RoutingTable> Get();

    [Alias("subscribe")]
    Task Subscribe(IRoutingObserver observer);

    [Alias("unsubscribe")]
    Task Unsubscribe(IRoutingObserver observer);
}

using MlGrid.Contracts;

namespace MlGrid.Gateway.Routing;

/// <summary>The routing table this gateway serves from: swapped whole, never mutated, kept when the control plane is away.</summary>
public sealed class RoutingState
{
    private readonly Lock _lock = new();
    private volatile RoutingTable? _table;

    /// <summary>Raised with each newer table, before <see cref="Table"/> returns it.</summary>
    public event Action<RoutingTable>? Changed;

    /// <summary>Null until the first table arrives.</summary>
    public RoutingTable? Table => _table;

    /// <summary>Takes a newer table; older or equal versions (late or repeated pushes) are ignored.</summary>
    public bool TryUpdate(RoutingTable table)
    {
        // Pushes and periodic reads race: compare, swap and announce as one step so versions never go back.
        lock (_lock)
        {
            var current = _table;
            if (current is not null && table.Version <= current.Version)
            {
                return false;
            }

            // Listeners (the YARP configuration) take the table before requests can see it: a request that picks a
            // deployment from the new table then finds its replicas in YARP, not a cluster that does not have them yet.
            Changed?.Invoke(table);
            _table = table;
            return true;
        }
    }

    public EndpointRoute? Find(string endpoint) => _table?.Endpoints.GetValueOrDefault(endpoint);
}

using MlGrid.Contracts;

namespace MlGrid.Gateway.Routing;

/// <summary>The routing table this gateway serves from: swapped whole, never mutated, kept when the control plane is away.</summary>
public sealed class RoutingState
{
    private readonly Lock _lock = new();
    private volatile RoutingTable? _table;

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

            _table = table;
            Changed?.Invoke(table);
            return true;
        }
    }

    public EndpointRoute? Find(string endpoint) => _table?.Endpoints.GetValueOrDefault(endpoint);
}

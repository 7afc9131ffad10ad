using MlGrid.Contracts;

namespace MlGrid.Gateway.Auth;

/// <summary>Where the gateway's audit events end up: the audit log grain when deployed, something else in tests.</summary>
public interface IAuditSink
{
    /// <summary>Stores the events in order; throws when they could not be stored (the forwarder tries again).</summary>
    Task AppendAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken);
}

/// <summary>The audit trail proper: the hash-chained log grain on the control plane.</summary>
internal sealed class GrainAuditSink(IClusterClient cluster) : IAuditSink
{
    public Task AppendAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken) =>
        cluster.GetGrain<IAuditLogGrain>(IAuditLogGrain.Key).Append(events).WaitAsync(cancellationToken);
}

using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using MlGrid.Governance;

namespace MlGrid.ControlPlane.Grains;

/// <summary>
/// Records what MlGrid does on its own (replacing a replica whose worker died, resuming endpoints after a restart) in
/// the audit trail, as the principal <c>system:{component}</c>. The action it records has already happened, so an
/// unreachable audit trail is logged, never turned into a failure of the action.
/// </summary>
public static class SystemAudit
{
    /// <summary>Automated actions carry no HTTP status.</summary>
    public const int NoStatus = 0;

    /// <summary>Bounds how long an action waits on the audit trail.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static AuditEvent Event(string component, string action, string target, string outcome, string? detail)
    {
        var principal = Principal.System(component);
        return new AuditEvent(DateTimeOffset.UtcNow, principal.Id, principal.Name, action, target, outcome, NoStatus, null, detail);
    }

    public static Task RecordAsync(
        this IGrainFactory grains, ILogger logger, string component, string action, string target, string outcome, string? detail) =>
        grains.RecordAsync(logger, [Event(component, action, target, outcome, detail)]);

    public static async Task RecordAsync(this IGrainFactory grains, ILogger logger, IReadOnlyList<AuditEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        try
        {
            await grains.GetGrain<IAuditLogGrain>(IAuditLogGrain.Key).Append(events).WaitAsync(Timeout);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not record {Count} automated action(s) in the audit trail: {Actions}",
                events.Count, string.Join(", ", events.Select(e => $"{e.Action} {e.Target}")));
        }
    }
}

using MlGrid.Contracts;

namespace MlGrid.Gateway.Auth;

/// <summary>
/// Keeps refusal floods out of the audit trail. A script retrying with a wrong key, or a client ignoring 429, would
/// otherwise write one entry per call into a trail that people read and that is kept for good, and would push other
/// callers' refusals out of the forwarder's buffer. So only the first <see cref="PerSecond"/> refusals a second for
/// one principal and status are recorded one by one; the rest are counted and recorded as one summary entry per
/// principal and status at the next flush.
/// </summary>
internal sealed class RefusalThrottle(TimeProvider time)
{
    public const int PerSecond = 10;

    /// <summary>Callers tracked one by one; beyond this (invalid key ids are the caller's to choose) they share one count.</summary>
    public const int MaxCallers = 10_000;

    public const string ManyCallers = "(many callers)";

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Principal, int Status), Window> _windows = [];

    /// <summary>True when the event is to be recorded on its own; false when it was counted for a summary instead.</summary>
    public bool Admit(AuditEvent refusal)
    {
        var second = time.GetUtcNow().ToUnixTimeSeconds();
        lock (_lock)
        {
            var key = (refusal.Principal, refusal.Status);
            if (!_windows.TryGetValue(key, out var window))
            {
                if (_windows.Count >= MaxCallers)
                {
                    key = (ManyCallers, refusal.Status);
                    window = _windows.GetValueOrDefault(key);
                }

                if (window is null)
                {
                    window = new Window { Second = second };
                    _windows[key] = window;
                }
            }

            if (window.Second != second)
            {
                window.Second = second;
                window.Admitted = 0;
            }

            if (window.Admitted < PerSecond)
            {
                window.Admitted++;
                return true;
            }

            window.Suppressed++;
            window.Last = refusal;
            return false;
        }
    }

    /// <summary>One summary event per principal and status with uncounted refusals; forgets callers quiet since the last second.</summary>
    public List<AuditEvent> Drain()
    {
        var now = time.GetUtcNow();
        var second = now.ToUnixTimeSeconds();
        var summaries = new List<AuditEvent>();
        lock (_lock)
        {
            List<(string, int)>? idle = null;
            foreach (var (key, window) in _windows)
            {
                if (window.Suppressed > 0)
                {
                    var last = window.Last!;
                    summaries.Add(new AuditEvent(now, key.Principal, key.Principal == ManyCallers ? null : last.PrincipalName,
                        "summary", last.Target, AuditOutcomes.Refused, key.Status, null,
                        $"{window.Suppressed} refused calls were not recorded individually (more than {PerSecond} a second for this caller with status {key.Status}); the last was {last.Action}"));
                    window.Suppressed = 0;
                }
                else if (window.Second < second)
                {
                    (idle ??= []).Add(key);
                }
            }

            foreach (var key in idle ?? [])
            {
                _windows.Remove(key);
            }
        }

        return summaries;
    }

    private sealed class Window
    {
        public long Second;
        public int Admitted;
        public long Suppressed;
        public AuditEvent? Last;
    }
}

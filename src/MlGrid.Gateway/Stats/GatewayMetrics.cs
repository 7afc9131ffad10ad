using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MlGrid.Gateway.Stats;

/// <summary>
/// The gateway's own instruments beside the live <c>mlgrid.gateway.inference.*</c> ones: shadow traffic (kept apart
/// so that it never counts as live), shadow copies dropped, and retries on another replica.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "MlGrid.Gateway";

    private readonly Counter<long> _shadowRequests;
    private readonly Histogram<double> _shadowDuration;
    private readonly Counter<long> _shadowDropped;
    private readonly Counter<long> _retries;

    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _shadowRequests = meter.CreateCounter<long>("mlgrid.gateway.shadow.requests", "{request}", "Shadow (mirrored) inference requests sent by the gateway");
        _shadowDuration = meter.CreateHistogram<double>("mlgrid.gateway.shadow.duration", "s", "Latency of shadow (mirrored) inference requests");
        _shadowDropped = meter.CreateCounter<long>("mlgrid.gateway.shadow.dropped", "{request}", "Shadow copies dropped because the shadow queue was full");
        _retries = meter.CreateCounter<long>("mlgrid.gateway.inference.retries", "{request}", "Inference requests sent again to another replica after a transport failure");
    }

    public void RecordShadow(string endpoint, string deployment, int status, TimeSpan elapsed)
    {
        var tags = new TagList
        {
            { "mlgrid.endpoint", endpoint },
            { "mlgrid.deployment", deployment },
            { "http.response.status_code", status },
            { "mlgrid.outcome", status < 400 ? "success" : status < 500 ? "client_error" : "server_error" },
        };
        _shadowRequests.Add(1, tags);
        _shadowDuration.Record(elapsed.TotalSeconds, tags);
    }

    public void ShadowDropped(string endpoint, string deployment) =>
        _shadowDropped.Add(1, new KeyValuePair<string, object?>("mlgrid.endpoint", endpoint), new KeyValuePair<string, object?>("mlgrid.deployment", deployment));

    public void Retried(string endpoint, string deployment) =>
        _retries.Add(1, new KeyValuePair<string, object?>("mlgrid.endpoint", endpoint), new KeyValuePair<string, object?>("mlgrid.deployment", deployment));
}

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MlGrid.Hosting.Http;

/// <summary>Inference requests, latency and errors per endpoint and deployment, as one component (gateway, worker) sees them.</summary>
public sealed class InferenceMetrics
{
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    /// <param name="component">"gateway" or "worker": names the meter (MlGrid.Gateway) and instruments (mlgrid.gateway.inference.*).</param>
    public InferenceMetrics(IMeterFactory meters, string component)
    {
        var meter = meters.Create($"MlGrid.{char.ToUpperInvariant(component[0])}{component[1..]}");
        _requests = meter.CreateCounter<long>($"mlgrid.{component}.inference.requests", "{request}", $"Inference requests handled by the {component}");
        _duration = meter.CreateHistogram<double>($"mlgrid.{component}.inference.duration", "s", $"Inference latency at the {component}");
    }

    /// <param name="shadow">A mirrored copy: tagged <c>mlgrid.traffic=shadow</c> so it is never mixed with live traffic.</param>
    public void Record(string endpoint, string deployment, int status, TimeSpan elapsed, bool shadow = false)
    {
        var tags = new TagList
        {
            { "mlgrid.endpoint", endpoint },
            { "mlgrid.deployment", deployment },
            { "mlgrid.traffic", shadow ? "shadow" : "live" },
            { "http.response.status_code", status },
            { "mlgrid.outcome", status < 400 ? "success" : status < 500 ? "client_error" : "server_error" },
        };
        _requests.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }
}

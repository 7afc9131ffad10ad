using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MlGrid.Gateway;

/// <summary>Inference requests, latency and errors per endpoint and deployment, as seen at the gateway.</summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "MlGrid.Gateway";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("mlgrid.gateway.inference.requests", "{request}", "Inference requests received by the gateway");
        _duration = meter.CreateHistogram<double>("mlgrid.gateway.inference.duration", "s", "Inference latency at the gateway, proxying included");
    }

    public void Record(string endpoint, string deployment, int status, TimeSpan elapsed)
    {
        var tags = new TagList
        {
            { "mlgrid.endpoint", endpoint },
            { "mlgrid.deployment", deployment },
            { "http.response.status_code", status },
            { "mlgrid.outcome", status < 400 ? "success" : status < 500 ? "client_error" : "server_error" },
        };
        _requests.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }
}

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MlGrid.Worker.Apis;

/// <summary>Inference requests, latency and errors per endpoint and deployment, as seen by the worker.</summary>
public sealed class InferenceMetrics
{
    public const string MeterName = "MlGrid.Worker";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public InferenceMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("mlgrid.worker.inference.requests", "{request}", "Inference requests served by the worker");
        _duration = meter.CreateHistogram<double>("mlgrid.worker.inference.duration", "s", "Time from request read to response written");
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

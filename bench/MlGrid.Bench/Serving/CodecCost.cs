using System.Diagnostics;
using MlGrid.Inference;

namespace MlGrid.Bench.Serving;

/// <summary>
/// The worker's JSON work for one request, timed alone on one thread with the worker's own code: parse and validate
/// the request (<c>OipJson.ParseRequest</c>, <c>SignatureValidator</c>), serialize the response
/// (<c>OipJson.SerializeResponse</c>). Splits a served request's worker CPU into engine, codec and the rest.
/// </summary>
internal sealed record CodecCost(string Model, int RequestBytes, int ResponseBytes, double ParseMicroseconds, double SerializeMicroseconds)
{
    private static readonly TimeSpan MinimumTime = TimeSpan.FromSeconds(1);

    public static CodecCost Measure(string model, OnnxModel onnx, InferBody request, IReadOnlyList<InferenceTensor> outputs)
    {
        var response = new InferenceResponse(model, "1", "bench", outputs);
        var responseBytes = OipJson.SerializeResponse(response).Length;
        var parse = Time(() =>
        {
            var parsed = OipJson.ParseRequest(request.Bytes);
            SignatureValidator.Validate(parsed, onnx.Inputs, onnx.Outputs);
        });
        var serialize = Time(() => OipJson.SerializeResponse(response));
        return new CodecCost(model, request.Bytes.Length, responseBytes, parse, serialize);
    }

    /// <summary>Microseconds per call, after one untimed call, over at least a second and five calls.</summary>
    private static double Time(Action action)
    {
        action();
        var calls = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < MinimumTime || calls < 5)
        {
            action();
            calls++;
        }

        return watch.Elapsed.TotalMicroseconds / calls;
    }
}

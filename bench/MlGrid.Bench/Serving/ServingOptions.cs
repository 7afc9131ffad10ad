using System.Globalization;

namespace MlGrid.Bench.Serving;

/// <summary>Settings of <c>serving</c> mode.</summary>
internal sealed record ServingOptions(
    TimeSpan Window,
    TimeSpan CnnWindow,
    TimeSpan Warmup,
    bool Cnn,
    bool Tiny,
    string? Output,
    string? TraceDirectory,
    string TraceTool,
    string? ServiceLogLevel)
{
    public const string Usage =
        "serving [--seconds 10] [--cnn-seconds 10] [--warmup 3] [--models cnn,tiny] [--out results.json] [--service-log-level Warning] [--trace DIR [--trace-tool dotnet-trace]]";

    public static ServingOptions Parse(IReadOnlyList<string> args)
    {
        var window = TimeSpan.FromSeconds(10);
        TimeSpan? cnnWindow = null;
        var warmup = TimeSpan.FromSeconds(3);
        var models = new[] { "cnn", "tiny" };
        string? output = null;
        string? trace = null;
        var traceTool = "dotnet-trace";
        string? serviceLogLevel = null;
        for (var i = 0; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"Option {args[i]} needs a value; use {Usage}");
            }

            var value = args[i + 1];
            switch (args[i])
            {
                case "--seconds":
                    window = Seconds(value);
                    break;
                case "--cnn-seconds":
                    cnnWindow = Seconds(value);
                    break;
                case "--warmup":
                    warmup = Seconds(value);
                    break;
                case "--models":
                    models = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (models.Any(m => m is not ("cnn" or "tiny")))
                    {
                        throw new ArgumentException($"--models takes cnn, tiny or both, not '{value}'.");
                    }

                    break;
                case "--out":
                    output = value;
                    break;
                case "--trace":
                    trace = value;
                    break;
                case "--trace-tool":
                    traceTool = value;
                    break;
                case "--service-log-level":
                    serviceLogLevel = Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(value, ignoreCase: true, out var level)
                        ? level.ToString()
                        : throw new ArgumentException($"--service-log-level takes a log level (Trace, Debug, Information, Warning, Error, Critical, None), not '{value}'.");
                    break;
                default:
                    throw new ArgumentException($"Unknown option {args[i]}; use {Usage}");
            }
        }

        return new ServingOptions(window, cnnWindow ?? window, warmup, models.Contains("cnn"), models.Contains("tiny"), output, trace, traceTool, serviceLogLevel);
    }

    private static TimeSpan Seconds(string value)
    {
        var seconds = double.Parse(value, CultureInfo.InvariantCulture);
        return seconds > 0 ? TimeSpan.FromSeconds(seconds) : throw new ArgumentException($"A duration must be positive, not {value}.");
    }
}

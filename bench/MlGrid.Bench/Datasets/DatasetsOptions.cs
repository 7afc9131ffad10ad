using System.Globalization;

namespace MlGrid.Bench.Datasets;

/// <summary>Settings of <c>datasets</c> mode: the upload sizes in MiB, in the order they run.</summary>
internal sealed record DatasetsOptions(IReadOnlyList<int> SizesMiB, string? Output, string? ServiceLogLevel)
{
    public const string Usage = "datasets [--sizes 100,1024] [--out results.json] [--service-log-level Warning]";

    public static DatasetsOptions Parse(IReadOnlyList<string> args)
    {
        int[] sizes = [100, 1024];
        string? output = null;
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
                case "--sizes":
                    sizes = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
                    if (sizes.Length == 0 || sizes.Any(s => s <= 0))
                    {
                        throw new ArgumentException($"--sizes takes positive sizes in MiB, not '{value}'.");
                    }

                    break;
                case "--out":
                    output = value;
                    break;
                case "--service-log-level":
                    serviceLogLevel = Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(value, ignoreCase: true, out var level)
                        ? level.ToString()
                        : throw new ArgumentException($"--service-log-level takes a log level, not '{value}'.");
                    break;
                default:
                    throw new ArgumentException($"Unknown option {args[i]}; use {Usage}");
            }
        }

        return new DatasetsOptions(sizes, output, serviceLogLevel);
    }
}

using System.Text.RegularExpressions;

namespace MlGrid.Tracking;

/// <summary>
/// MLflow's rules for what a run may be given: key names and lengths, value lengths and the size of one batch. A
/// request that breaks one gets a <see cref="TrackingException"/> whose message names the value and the limit.
/// </summary>
public static partial class TrackingLimits
{
    public const int MaxKeyLength = 250;
    public const int MaxParamValueLength = 6000;
    public const int MaxTagValueLength = 8000;
    public const int MaxExperimentTagValueLength = 5000;
    public const int MaxRunNameLength = 250;
    public const int MaxExperimentNameLength = 500;
    public const int MaxMetricsPerBatch = 1000;
    public const int MaxParamsTagsPerBatch = 100;
    public const int MaxEntitiesPerBatch = 1000;
    public const int MaxDatasetsPerRequest = 1000;
    public const int MaxRegistryTagValueLength = 5000;
    public const int MaxDescriptionLength = 5000;
    public const int MaxModelSourceLength = 1000;

    public static void EnsureMetricKey(string? key) => EnsureKey(key, "metric");

    public static void EnsureParamKey(string? key) => EnsureKey(key, "param");

    public static void EnsureTagKey(string? key) => EnsureKey(key, "tag");

    public static void EnsureParamValue(string key, string? value) => EnsureLength(value, MaxParamValueLength, $"param '{key}'");

    public static void EnsureTagValue(string key, string? value) => EnsureLength(value, MaxTagValueLength, $"tag '{key}'");

    public static void EnsureExperimentTagValue(string key, string? value) => EnsureLength(value, MaxExperimentTagValueLength, $"experiment tag '{key}'");

    /// <summary>A tag value on a registered model or a model version.</summary>
    public static void EnsureRegistryTagValue(string key, string? value) => EnsureLength(value, MaxRegistryTagValueLength, $"tag '{key}'");

    public static void EnsureDescription(string? description) => EnsureLength(description, MaxDescriptionLength, "description");

    public static void EnsureModelSource(string? source) => EnsureLength(source, MaxModelSourceLength, "source");

    public static void EnsureRunName(string? name) => EnsureLength(name, MaxRunNameLength, "run name");

    public static void EnsureExperimentName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new TrackingException("Invalid experiment name: '" + name + "'. Give the experiment a non-empty name.");
        }

        EnsureLength(name, MaxExperimentNameLength, "experiment name");
    }

    /// <summary>The batch limits of <c>runs/log-batch</c>.</summary>
    public static void EnsureBatch(int metrics, int parameters, int tags)
    {
        if (metrics > MaxMetricsPerBatch)
        {
            throw new TrackingException($"A batch logging request can contain at most {MaxMetricsPerBatch} metrics. Got {metrics} metrics. Split the batch.");
        }

        if (parameters > MaxParamsTagsPerBatch)
        {
            throw new TrackingException($"A batch logging request can contain at most {MaxParamsTagsPerBatch} params. Got {parameters} params. Split the batch.");
        }

        if (tags > MaxParamsTagsPerBatch)
        {
            throw new TrackingException($"A batch logging request can contain at most {MaxParamsTagsPerBatch} tags. Got {tags} tags. Split the batch.");
        }

        var total = metrics + parameters + tags;
        if (total > MaxEntitiesPerBatch)
        {
            throw new TrackingException(
                $"A batch logging request can contain at most {MaxEntitiesPerBatch} total metrics, params and tags. Got {total}. Split the batch.");
        }
    }

    private static void EnsureKey(string? key, string what)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new TrackingException($"Missing value for required parameter 'key': every {what} needs a name.");
        }

        if (key.Length > MaxKeyLength)
        {
            throw new TrackingException($"The {what} name '{key[..40]}…' is {key.Length} characters long; the limit is {MaxKeyLength}.");
        }

        if (!KeyPattern().IsMatch(key))
        {
            throw new TrackingException(
                $"Invalid {what} name: '{key}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/).");
        }

        if (!IsPathSafe(key))
        {
            throw new TrackingException(
                $"Invalid {what} name: '{key}'. Names may be treated as files, so they must not start with '/' or contain empty, '.' or '..' segments.");
        }
    }

    private static void EnsureLength(string? value, int limit, string what)
    {
        if (value is not null && value.Length > limit)
        {
            throw new TrackingException($"The value of {what} is {value.Length} characters long; the limit is {limit}.");
        }
    }

    private static bool IsPathSafe(string key)
    {
        if (key.StartsWith('/'))
        {
            return false;
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex(@"^[/\w.\- :]*$")]
    private static partial Regex KeyPattern();
}

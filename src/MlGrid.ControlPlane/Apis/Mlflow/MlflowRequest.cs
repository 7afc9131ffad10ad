using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Primitives;
using MlGrid.Contracts;
using MlGrid.Tracking;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>
/// The parameters of one MLflow call, from the JSON body of a POST or the query string of a GET, read with MLflow's
/// leniency: int64 fields as numbers or strings (protobuf's JSON mapping), doubles as numbers or "NaN"/"Infinity",
/// enums as names or numbers. A missing required or mistyped value is a <see cref="TrackingException"/>.
/// </summary>
internal sealed class MlflowRequest
{
    private readonly JsonElement _body;
    private readonly IQueryCollection? _query;

    private MlflowRequest(JsonElement body, IQueryCollection? query)
    {
        _body = body;
        _query = query;
    }

    public static async Task<MlflowRequest> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (HttpMethods.IsGet(request.Method))
        {
            return new MlflowRequest(default, request.Query);
        }

        // MLflow's clients send DELETE calls (registered-models/delete, alias…) with a JSON body; others put the
        // fields in the query string.
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        if (buffer.Length == 0)
        {
            return new MlflowRequest(default, HttpMethods.IsDelete(request.Method) ? request.Query : null);
        }

        try
        {
            using var document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), new JsonDocumentOptions { MaxDepth = 32 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new TrackingException("The request body must be a JSON object.");
            }

            return new MlflowRequest(document.RootElement.Clone(), null);
        }
        catch (JsonException ex)
        {
            throw new TrackingException($"The request body is not valid JSON: {ex.Message}");
        }
    }

    public string RequiredString(string name) =>
        String(name) is { Length: > 0 } value ? value : throw Missing(name);

    /// <summary><c>run_id</c>, or the older <c>run_uuid</c> that MLflow still accepts.</summary>
    public string RunId() =>
        String("run_id") is { Length: > 0 } id ? id
        : String("run_uuid") is { Length: > 0 } legacy ? legacy
        : throw Missing("run_id");

    public string? String(string name)
    {
        if (_query is not null)
        {
            return _query.TryGetValue(name, out var values) && values.Count > 0 ? values[^1] : null;
        }

        if (!TryGet(name, out var element))
        {
            return null;
        }

        return element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
            _ => throw Invalid(name, element, "a string"),
        };
    }

    public long? Long(string name)
    {
        if (_query is not null)
        {
            var text = String(name);
            return string.IsNullOrEmpty(text) ? null : ParseLong(name, text);
        }

        if (!TryGet(name, out var element))
        {
            return null;
        }

        return element.ValueKind switch
        {
            JsonValueKind.Number when element.TryGetInt64(out var number) => number,
            JsonValueKind.String => ParseLong(name, element.GetString()!),
            _ => throw Invalid(name, element, "an integer"),
        };
    }

    public int? Int(string name) => Long(name) is { } value
        ? value is >= int.MinValue and <= int.MaxValue ? (int)value : throw new TrackingException($"Invalid value {value} for parameter '{name}' supplied: it is out of range.")
        : null;

    public double RequiredDouble(string name)
    {
        if (_query is not null)
        {
            return ParseDouble(name, String(name) ?? throw Missing(name));
        }

        if (!TryGet(name, out var element))
        {
            throw Missing(name);
        }

        return element.ValueKind switch
        {
            JsonValueKind.Number => element.GetDouble(),
            JsonValueKind.String => ParseDouble(name, element.GetString()!),
            _ => throw Invalid(name, element, "a number"),
        };
    }

    /// <summary>A boolean as JSON <c>true</c>/<c>false</c> or the strings "true"/"false"; null when absent.</summary>
    public bool? Bool(string name) => String(name) switch
    {
        null or "" => null,
        var text when bool.TryParse(text, out var value) => value,
        var text => throw new TrackingException($"Invalid value '{text}' for parameter '{name}' supplied: expected true or false."),
    };

    public IReadOnlyList<string> StringList(string name)
    {
        if (_query is not null)
        {
            return _query.TryGetValue(name, out StringValues values) ? [.. values.OfType<string>()] : [];
        }

        if (!TryGet(name, out var element))
        {
            return [];
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(name, element, "a list of strings");
        }

        return [.. element.EnumerateArray().Select(e => e.ValueKind switch
        {
            JsonValueKind.String => e.GetString()!,
            JsonValueKind.Number => e.GetRawText(),
            _ => throw Invalid(name, e, "a string"),
        })];
    }

    /// <summary>A list of objects (tags, metrics, datasets); empty when absent.</summary>
    public IReadOnlyList<JsonElement> Objects(string name)
    {
        if (_query is not null || !TryGet(name, out var element))
        {
            return [];
        }

        if (element.ValueKind != JsonValueKind.Array || element.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Object))
        {
            throw Invalid(name, element, "a list of objects");
        }

        return [.. element.EnumerateArray()];
    }

    /// <summary>The <c>{key, value}</c> pairs MLflow uses for tags and params.</summary>
    public IReadOnlyList<TrackingTag> Tags(string name) =>
        [.. Objects(name).Select(o => new TrackingTag(
            FieldString(o, "key") ?? throw Missing($"{name}.key"),
            FieldString(o, "value") ?? ""))];

    /// <summary>ACTIVE_ONLY (the default), DELETED_ONLY or ALL, by name or by protobuf number.</summary>
    public ViewType View(string name) => String(name)?.ToUpperInvariant() switch
    {
        null or "" or "ACTIVE_ONLY" or "1" => ViewType.ActiveOnly,
        "DELETED_ONLY" or "2" => ViewType.DeletedOnly,
        "ALL" or "3" => ViewType.All,
        var other => throw new TrackingException($"Invalid value '{other}' for parameter '{name}': use ACTIVE_ONLY, DELETED_ONLY or ALL."),
    };

    public static string? FieldString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Null => null,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            _ => throw new TrackingException($"Invalid value for '{name}': expected a string, got {value.ValueKind.ToString().ToLowerInvariant()}."),
        } : null;

    public static TrackingException Missing(string name) =>
        new($"Missing value for required parameter '{name}'. See the API docs for more information about request parameters.");

    private bool TryGet(string name, out JsonElement element)
    {
        element = default;
        return _body.ValueKind == JsonValueKind.Object
            && _body.TryGetProperty(name, out element)
            && element.ValueKind != JsonValueKind.Null;
    }

    internal static long ParseLong(string name, string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new TrackingException($"Invalid value '{text}' for parameter '{name}' supplied: expected an integer.");

    internal static double ParseDouble(string name, string text) => text switch
    {
        "NaN" or "nan" => double.NaN,
        "Infinity" or "inf" or "+Infinity" => double.PositiveInfinity,
        "-Infinity" or "-inf" => double.NegativeInfinity,
        _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) => value,
        _ => throw new TrackingException($"Invalid value '{text}' for parameter '{name}' supplied: expected a number."),
    };

    private static TrackingException Invalid(string name, JsonElement element, string expected) =>
        new($"Invalid value {Shorten(element.GetRawText())} for parameter '{name}' supplied: expected {expected}.");

    private static string Shorten(string raw) => raw.Length <= 80 ? raw : raw[..80] + "…";
}

internal enum ViewType
{
    ActiveOnly,
    DeletedOnly,
    All,
}

internal static class ViewTypes
{
    public static bool Includes(this ViewType view, string lifecycleStage) => view switch
    {
        ViewType.ActiveOnly => lifecycleStage == LifecycleStages.Active,
        ViewType.DeletedOnly => lifecycleStage == LifecycleStages.Deleted,
        _ => true,
    };
}

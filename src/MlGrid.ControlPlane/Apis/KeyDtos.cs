using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlGrid.Contracts;
using MlGrid.Governance;

namespace MlGrid.ControlPlane.Apis;

/// <summary>A key as the API shows it; <see cref="Key"/> (the full secret) only in the answer that creates it.</summary>
public sealed record KeyResponse(
    string Id,
    string Name,
    string Role,
    IReadOnlyList<string> Endpoints,
    DateTimeOffset? ExpiresAt,
    int? RequestsPerSecond,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    string Status,
    DateTimeOffset? RevokedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Key = null)
{
    public const string Active = "active";
    public const string Expired = "expired";
    public const string Revoked = "revoked";

    public static KeyResponse From(ApiKeyRecord record, DateTimeOffset now, string? key = null) => new(
        record.Id,
        record.Name,
        Roles.Name(record.Role),
        record.Endpoints,
        record.ExpiresAt,
        record.RequestsPerSecond,
        record.CreatedAt,
        record.CreatedBy,
        record.RevokedAt is not null ? Revoked : record.ExpiresAt <= now ? Expired : Active,
        record.RevokedAt,
        key);
}

public sealed record KeyListResponse(IReadOnlyList<KeyResponse> Keys);

/// <summary>
/// The body of <c>POST /api/v1/keys</c>, read strictly: a key grants access, so a misspelt property or a wrong type
/// is refused rather than silently ignored.
/// </summary>
public static class KeyCreateRequest
{
    private static readonly string[] Properties = ["name", "role", "endpoints", "expiresAt", "requestsPerSecond"];

    public static string ValidRoles => string.Join(", ", Enum.GetValues<Role>().OrderDescending().Select(Roles.Name));

    public static (KeyRequest? Request, string? Error) Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, "The body must be a JSON object, e.g. {\"name\": \"ci\", \"role\": \"editor\"}.");
        }

        string? name = null;
        Role? role = null;
        var endpoints = new List<string>();
        DateTimeOffset? expiresAt = null;
        int? requestsPerSecond = null;
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "name":
                    if (value.ValueKind != JsonValueKind.String)
                    {
                        return (null, "'name' must be a string.");
                    }

                    name = value.GetString();
                    break;

                case "role":
                    if (value.ValueKind != JsonValueKind.String || !Roles.TryParse(value.GetString(), out var parsed))
                    {
                        return (null, $"'role' must be one of {ValidRoles}.");
                    }

                    role = parsed;
                    break;

                case "endpoints":
                    if (value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                    {
                        return (null, "'endpoints' must be an array of endpoint names, e.g. [\"fraud\"].");
                    }

                    endpoints.AddRange(value.EnumerateArray().Select(e => e.GetString()!));
                    break;

                case "expiresAt":
                    if (value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    if (value.ValueKind != JsonValueKind.String || !value.TryGetDateTimeOffset(out _)
                        || !DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires))
                    {
                        return (null, "'expiresAt' must be an ISO-8601 date and time, e.g. \"2030-01-31T00:00:00Z\".");
                    }

                    expiresAt = expires;
                    break;

                case "requestsPerSecond":
                    if (value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var rate))
                    {
                        return (null, "'requestsPerSecond' must be a whole number from 1 to 1,000,000.");
                    }

                    requestsPerSecond = rate;
                    break;

                default:
                    return (null, $"Unknown property '{property.Name}': a key takes {string.Join(", ", Properties.Select(p => $"'{p}'"))}.");
            }
        }

        if (string.IsNullOrEmpty(name))
        {
            return (null, "A key needs a 'name', e.g. {\"name\": \"ci\", \"role\": \"editor\"}.");
        }

        if (role is null)
        {
            return (null, $"A key needs a 'role': one of {ValidRoles}.");
        }

        return (new KeyRequest(name, role.Value, endpoints, expiresAt, requestsPerSecond), null);
    }
}
